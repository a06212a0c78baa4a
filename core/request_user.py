"""The user the accounts domain authenticated for the current request (bearer token or console session),
cached in the WSGI environ so the audit trail, the faces and the console read one answer. Plain Flask: the
domains use it without loading the HTTP API (flask-smorest, Flask-Limiter)."""
from __future__ import annotations

from flask import has_request_context, request

#: ``request.environ`` key under which the accounts domain caches the request's authenticated user.
REQUEST_USER_KEY = "ocop.current_user"


def request_user():
    """The user the accounts domain authenticated for this request, or None (outside requests too)."""
    if not has_request_context():
        return None
    return request.environ.get(REQUEST_USER_KEY)
