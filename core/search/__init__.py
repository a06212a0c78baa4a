"""Catalogue search: one interface (:class:`~core.search.backend.SearchBackend`), two backends.

``OCOP_SEARCH_BACKEND=database`` (default): SQLite FTS5 / PostgreSQL full
text inside the application database. ``OCOP_SEARCH_BACKEND=elasticsearch``
with ``OCOP_ELASTICSEARCH_URL``: an Elasticsearch cluster. Index work goes
through the outbox (:mod:`core.search.outbox`); storefront reads through
:mod:`core.search.service`.
"""
