"""Platform export formats → comments ``{"id", "author_id", "author_name", "text", "created_at"}``.

A registry of parsers by format name; a plugin or a deployment may add its own with :func:`register`.
Each parser takes the decoded JSON document and returns a list of comment dicts, or raises
:class:`BatchFormatError`. CSV uploads are read by :func:`read_csv` (one column per key).
"""
from __future__ import annotations

import csv
import io
from typing import Callable

CommentParser = Callable[[object], list]
_PARSERS: dict[str, CommentParser] = {}
CSV_COLUMNS = ("id", "author_id", "author_name", "text", "created_at")


class BatchFormatError(ValueError):
    """The document is not in the format named."""


def register(name: str, parser: CommentParser) -> None:
    _PARSERS[name] = parser


def formats() -> list[str]:
    return sorted(_PARSERS)


def read(name: str, document) -> list:
    """Comments of ``document`` read by the parser ``name`` (``generic`` when the name is unknown is refused)."""
    parser = _PARSERS.get(name)
    if parser is None:
        raise BatchFormatError(f"unknown format {name!r}; known: {', '.join(formats())}")
    return parser(document)


def _items(document, key: str) -> list:
    items = document.get(key) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise BatchFormatError(f"expected an object with a list '{key}'")
    return items


def _field(item, *path):
    for key in path:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def generic(document) -> list:
    """``[{id, author_id, author_name, text, created_at}]`` or ``{"comments": [...]}``."""
    return document if isinstance(document, list) else _items(document, "comments")


def facebook(document) -> list:
    """Graph API ``/{live-video-id}/comments``: ``{"data": [{id, from: {id, name}, message, created_time}]}``."""
    return [{"id": _field(c, "id"), "author_id": _field(c, "from", "id"), "author_name": _field(c, "from", "name"),
             "text": _field(c, "message"), "created_at": _field(c, "created_time")} for c in _items(document, "data")]


def tiktok(document) -> list:
    """TikTok Live export: ``{"comments": [{comment_id, user: {user_id, nickname}, content, create_time}]}``."""
    return [{"id": _field(c, "comment_id"), "author_id": _field(c, "user", "user_id"),
             "author_name": _field(c, "user", "nickname"), "text": _field(c, "content"),
             "created_at": _field(c, "create_time")} for c in _items(document, "comments")]


def youtube(document) -> list:
    """YouTube ``liveChatMessages.list``: ``{"items": [{id, snippet: {displayMessage, publishedAt}, authorDetails}]}``."""
    return [{"id": _field(c, "id"), "author_id": _field(c, "authorDetails", "channelId"),
             "author_name": _field(c, "authorDetails", "displayName"), "text": _field(c, "snippet", "displayMessage"),
             "created_at": _field(c, "snippet", "publishedAt")} for c in _items(document, "items")]


def read_csv(data: bytes) -> list:
    """A CSV export with a header row naming at least ``id``, ``author_id`` and ``text``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchFormatError("the CSV file is not UTF-8") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"id", "author_id", "text"} <= set(reader.fieldnames):
        raise BatchFormatError("the CSV header must name id, author_id and text")
    try:
        return [{key: (row.get(key) or None) if key != "text" else (row.get("text") or "") for key in CSV_COLUMNS}
                for row in reader]
    except csv.Error as exc:
        raise BatchFormatError(f"unreadable CSV: {exc}") from exc


for _name, _parser in (("generic", generic), ("facebook", facebook), ("tiktok", tiktok), ("youtube", youtube),
                       ("zalo", generic), ("shopee", generic)):
    register(_name, _parser)
