"""Search: the outbox of pending index work and the database backend's document table.

``search_outbox`` rows are written in the same transaction as the product,
variant, stock or certification change that makes them necessary, so no
index update is lost when the broker or Elasticsearch is down; the drainer
(``core.search.outbox.drain``) marks them processed once the backend has the
change. ``search_document`` is the index of the ``database`` backend: one row
per *listed* product with filter/facet columns, diacritic-folded text and the
rendered document (``search_document_source``). Engine-specific parts live only
in the migration (``0004_search``): on SQLite the FTS5 table ``search_fts``
(kept in sync by triggers on ``search_document_source``) and the
``search_fts_vocab`` table; on PostgreSQL the ``tsv`` column (written by the
backend) with its GIN index and a trigram index on ``name_folded``.
``search_index_change`` logs which products each index write touched, so every
process can bring its in-memory facet columns up to date without a reload.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class SearchOutbox(db.Model):
    """One unit of pending index work: re-read ``product_id`` from the database and index or delete it."""

    __tablename__ = "search_outbox"
    __table_args__ = (Index("ix_search_outbox_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(String(40), default="changed")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    processed_at = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class SearchDocument(db.Model):
    """A listed product as indexed by the ``database`` search backend: the narrow part (filters, facets, ranking).

    Kept narrow on purpose: a query touches one row per match, so these rows
    must pack densely into pages. The rendered document and the full folded
    body live in :class:`SearchDocumentSource`.
    """

    __tablename__ = "search_document"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    producer_id: Mapped[int] = mapped_column(Integer, index=True)
    group_code: Mapped[str] = mapped_column(String(60), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str | None] = mapped_column(String(20), index=True)
    legal_form: Mapped[str] = mapped_column(String(30))
    price_min: Mapped[int | None] = mapped_column(BigInteger, index=True)
    price_max: Mapped[int | None] = mapped_column(BigInteger)
    price_bucket: Mapped[int] = mapped_column(Integer, default=0)
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    listed_until = mapped_column(Date, nullable=False, index=True)
    created_at = mapped_column(UTCDateTime, nullable=False, index=True)
    name_folded: Mapped[str] = mapped_column(Text)
    meta_folded: Mapped[str] = mapped_column(Text)  # producer, places, group/set names (folded)
    exact_text: Mapped[str] = mapped_column(Text)  # name, producer, places: lower case, diacritics kept
    indexed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SearchDocumentSource(db.Model):
    """The wide part of an indexed product: the JSON document shown in results and the full folded text."""

    __tablename__ = "search_document_source"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name_folded: Mapped[str] = mapped_column(Text)
    body_folded: Mapped[str] = mapped_column(Text)
    document: Mapped[str] = mapped_column(Text)  # JSON of the full search document


class SearchIndexChange(db.Model):
    """One write to the ``database`` backend's index: the products it touched, or a whole rebuild.

    Written in the index write's own transaction (drainers are serialised, so
    ``seq`` grows in commit order); ``token`` is random, so a process can tell
    the index it has loaded from any other — even after the tables were wiped.
    Readers: :mod:`core.search.facets`. Only the last rows are kept.
    """

    __tablename__ = "search_index_change"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    rebuild: Mapped[bool] = mapped_column(Boolean, default=False)
    product_ids: Mapped[str] = mapped_column(Text, default="")  # comma-separated; empty for a rebuild
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
