"""Page/limit pagination answering ``{"results", "total", "next"}`` (DESIGN §3)."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request
from sqlalchemy import func, select

from core.db import db


def next_link(page: int, limit: int, total: int) -> str | None:
    """URL of the next page, or None on the last page."""
    if page * limit >= total:
        return None
    args = request.args.to_dict()
    args.update({"page": page + 1, "limit": limit})
    return f"{request.path}?{urlencode(args)}"


def paginate(stmt, page: int, limit: int) -> dict:
    """Run ``stmt`` (a SELECT of ORM entities) for one page; count the whole result."""
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = db.session.execute(stmt.limit(limit).offset((page - 1) * limit)).scalars().all()
    return {"results": rows, "total": total, "next": next_link(page, limit, total)}
