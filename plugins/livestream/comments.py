"""Comment ingestion: a batch (webhook, upload, adapter) checked whole, stored once per platform id, parsed.

A batch with any malformed comment is refused whole (422, nothing written); a comment whose id the
session already has is skipped, so a resent batch changes nothing. New comments are parsed in
order against the session's showcase, with the duplicate memory rebuilt from the stored comments.
"""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from core.db import db, insert_ignoring_conflicts, utcnow
from core.errors import DomainError, Message, ValidationFailed
from core.pagination import paginate
from core.text import nfc
from plugins.livestream import draft_orders, events, showcases
from plugins.livestream.models import LivestreamComment
from plugins.livestream.parser import CommentStream, ParseResult, parse_comment, parse_time, text_key
from plugins.livestream.vocabulary import default_vocabulary

MAX_BATCH = 5000
MAX_ID_LENGTH = 200


class BadSignature(DomainError):
    def __init__(self):
        super().__init__("livestream.bad_signature", "Chữ ký webhook không hợp lệ.",
                         "The webhook signature is invalid.", status=401)


def check_signature(session, body: bytes, header: str | None) -> None:
    """``X-Livestream-Signature: sha256=<hex HMAC-SHA256 of the raw body with the session's secret>``."""
    expected = hmac.new(session.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    given = (header or "").strip()
    given = given[7:] if given.lower().startswith("sha256=") else given
    if not hmac.compare_digest(expected, given.lower()):
        raise BadSignature()


def sign(secret: str, body: bytes) -> str:
    """The signature header value a sender puts on ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_batch(comments) -> list[dict]:
    """Every comment well formed, or ValidationFailed naming each bad one by its position."""
    if not isinstance(comments, list) or not comments:
        raise ValidationFailed({"comments": [Message("cần một danh sách bình luận không rỗng", "a non-empty list of comments is required")]},
                               code="livestream.bad_batch", message="Lô bình luận rỗng hoặc sai định dạng.",
                               message_en="The comment batch is empty or malformed.")
    if len(comments) > MAX_BATCH:
        raise ValidationFailed({"comments": [Message(f"tối đa {MAX_BATCH} bình luận mỗi lô", f"at most {MAX_BATCH} comments per batch")]},
                               code="livestream.bad_batch", message=f"Tối đa {MAX_BATCH} bình luận mỗi lô.",
                               message_en=f"At most {MAX_BATCH} comments per batch.")
    limit, problems, clean = default_vocabulary().limits["max_text_length"], {}, []
    for n, c in enumerate(comments):
        issue = _problem(c, limit)
        if issue:
            problems[str(n)] = [Message("bình luận sai định dạng", issue)]
            continue
        clean.append({"id": str(c["id"]), "author_id": str(c["author_id"]),
                      "author_name": nfc(c["author_name"])[:200] if isinstance(c.get("author_name"), str) else None,
                      "text": nfc(c["text"]), "created_at": c.get("created_at")})
    if problems:
        raise ValidationFailed(dict(list(problems.items())[:50]), code="livestream.bad_batch",
                               message="Lô bình luận có bình luận sai định dạng; không lưu gì.",
                               message_en="The batch holds malformed comments; nothing was stored.")
    return clean


def _problem(c, limit: int) -> str | None:
    if not isinstance(c, dict):
        return "a comment must be an object"
    for key in ("id", "author_id"):
        value = c.get(key)
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
            return f"'{key}' must be a non-empty string or integer"
        if len(str(value)) > MAX_ID_LENGTH:
            return f"'{key}' is longer than {MAX_ID_LENGTH} characters"
    if not isinstance(c.get("text"), str):
        return "'text' must be a string"
    if len(c["text"]) > limit:
        return f"'text' is longer than {limit} characters"
    if c.get("created_at") is not None and parse_time(c["created_at"]) is None:
        return "'created_at' must be ISO 8601 or epoch seconds"
    if c.get("author_name") is not None and not isinstance(c["author_name"], str):
        return "'author_name' must be a string"
    return None


def stored(session_id: int) -> list[LivestreamComment]:
    """The session's comments in the order they were received."""
    return list(db.session.execute(select(LivestreamComment).where(LivestreamComment.session_id == session_id)
                                   .order_by(LivestreamComment.id)).scalars())


def _memory(rows: list[LivestreamComment]) -> CommentStream:
    """The parser's duplicate memory as it stood after the stored comments."""
    stream = CommentStream()
    for row in rows:
        stream.seen_ids.add(row.platform_comment_id)
        key = text_key(row.text)
        if key:
            stream.last_written[(row.author_id, key)] = row.written_at
    return stream


def ingest(session, comments) -> dict:
    """Store and parse a batch; refresh the drafts. Returns ``{received, created, skipped, drafts}``. Flushes."""
    clean = _check_batch(comments)
    rows = stored(session.id)
    known = {row.platform_comment_id for row in rows}
    stream, showcase = _memory(rows), showcases.compiled(session)
    created = 0
    for comment in clean:
        if comment["id"] in known:
            continue
        known.add(comment["id"])
        result = parse_comment(comment, showcase, stream)
        if _insert(session.id, comment, result):
            created += 1
            events.record(session.id, "comment", comment_event(comment, result))
    changed = draft_orders.refresh(session) if created else []
    db.session.flush()
    return {"received": len(clean), "created": created, "skipped": len(clean) - created, "drafts": len(changed)}


def _insert(session_id: int, comment: dict, result: ParseResult) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on (session, platform id): True when this call stored it."""
    values = dict(session_id=session_id, platform_comment_id=comment["id"], author_id=comment["author_id"],
                  author_name=comment["author_name"], text=comment["text"], written_at=result.created_at,
                  received_at=utcnow(), intent=result.intent, additive=result.additive, phone=result.phone,
                  reason=(result.reason or result.error or None) and (result.reason or result.error)[:300],
                  lines=[{"code": l.code, "quantity": l.quantity, "variant_sku": l.variant_sku, "stated": l.stated}
                         for l in result.lines])
    table = LivestreamComment.__table__
    done = db.session.execute(insert_ignoring_conflicts(table).values(**values)
                              .on_conflict_do_nothing(index_elements=["session_id", "platform_comment_id"])
                              .returning(table.c.id))
    return done.scalar_one_or_none() is not None


def comment_event(comment: dict, result: ParseResult) -> dict:
    return {"comment_id": comment["id"], "author_id": comment["author_id"], "author_name": comment["author_name"],
            "text": comment["text"], "intent": result.intent, "phone": result.phone,
            "lines": [{"code": l.code, "quantity": l.quantity, "variant_sku": l.variant_sku} for l in result.lines]}


def list_comments(session, args: dict) -> dict:
    """Stored comments with their parse results in the order received (filters: ``intent``, ``author_id``)."""
    stmt = select(LivestreamComment).where(LivestreamComment.session_id == session.id)
    for key in ("intent", "author_id"):
        if args.get(key):
            stmt = stmt.where(getattr(LivestreamComment, key) == args[key])
    return paginate(stmt.order_by(LivestreamComment.id), args["page"], args["limit"])
