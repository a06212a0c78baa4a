"""Per-viewer draft orders, kept from the session's comments, and the seller's queue: confirm, edit, reject.

Drafts are folded (``drafts.DraftBook``) from every stored parse result, so a resent comment or a
replayed batch cannot change them; a draft the seller edited, confirmed or rejected is no longer
touched by comments. Confirming places ONE core order per draft through the core checkout, on the
session's sales channel, with the idempotency key ``livestream:draft:<id>``.
"""
from __future__ import annotations

from sqlalchemy import select

from core.db import db, utcnow
from core.errors import Conflict, invalid, Message, NotFound, ValidationFailed
from core.sales import checkout, placement
from core.sales.models import Order
from plugins.livestream import events, holds, session_prices, sessions, showcases
from plugins.livestream.drafts import DraftBook
from plugins.livestream.lines import Line
from plugins.livestream.models import DraftOrder, LivestreamComment
from plugins.livestream.parser import ParseResult

GATEWAYS = ("cod", "bank_transfer")


def _result(row: LivestreamComment) -> ParseResult:
    return ParseResult(row.platform_comment_id, row.intent, author_id=row.author_id, author_name=row.author_name,
                       created_at=row.written_at, additive=row.additive, phone=row.phone,
                       lines=tuple(Line(l["code"], l["quantity"], l["variant_sku"], l.get("stated", False))
                                   for l in row.lines or ()))


def book(session_id: int) -> DraftBook:
    """The drafts folded from every stored comment of the session, in the order they were received."""
    rows = db.session.execute(select(LivestreamComment).where(LivestreamComment.session_id == session_id)
                              .order_by(LivestreamComment.id)).scalars()
    return DraftBook().apply_all(_result(row) for row in rows)


def _lines(draft) -> list[dict]:
    return [{"code": code, "variant_sku": sku, "quantity": quantity} for (code, sku), quantity in draft.lines.items()]


def refresh(session) -> list[DraftOrder]:
    """Write the folded drafts of viewers with lines or comments to review; returns the rows that changed."""
    existing = {d.author_id: d for d in db.session.execute(
        select(DraftOrder).where(DraftOrder.session_id == session.id)).scalars()}
    changed = []
    for author_id, draft in book(session.id).drafts.items():
        if not draft.lines and not draft.to_review:
            if author_id not in existing:
                continue
        row = existing.get(author_id)
        state = dict(author_name=draft.author_name, phone=draft.phone, to_review=[str(c) for c in draft.to_review],
                     comment_ids=[str(c) for c in draft.comment_ids])
        if row is None:
            row = DraftOrder(session_id=session.id, author_id=author_id, lines=_lines(draft), status="open",
                             edited=False, created_at=utcnow(), updated_at=utcnow(), **state)
            db.session.add(row)
        elif row.status != "open" or row.edited:
            continue
        elif row.lines == _lines(draft) and all(getattr(row, k) == v for k, v in state.items()):
            continue
        else:
            row.lines = _lines(draft)
            for key, value in state.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        changed.append(row)
    db.session.flush()
    for row in changed:
        events.record(session.id, "draft", draft_event(row))
    return changed


def draft_event(row: DraftOrder) -> dict:
    return {"draft_id": row.id, "author_id": row.author_id, "author_name": row.author_name, "lines": row.lines,
            "phone": row.phone, "needs_review": bool(row.to_review), "status": row.status}


def get_draft(session, draft_id: int) -> DraftOrder:
    draft = db.session.get(DraftOrder, draft_id)
    if draft is None or draft.session_id != session.id:
        raise NotFound("livestream_draft", "đơn nháp")
    return draft


def list_drafts(session, args: dict) -> list[DraftOrder]:
    """The queue: drafts by status (``open`` by default); ``needs_review`` keeps those with comments to check."""
    stmt = select(DraftOrder).where(DraftOrder.session_id == session.id,
                                    DraftOrder.status == args.get("status", "open")).order_by(DraftOrder.id)
    rows = list(db.session.execute(stmt).scalars())
    if "needs_review" in args:
        rows = [r for r in rows if bool(r.to_review) == args["needs_review"]]
    return rows


def priced(session, draft: DraftOrder) -> dict:
    """The draft with each line's product, variant and session price, and the total (VND)."""
    found = [showcases.variant_of(session, line["code"], line["variant_sku"]) for line in draft.lines]
    known = [(f[1].variant_id, line["quantity"]) for f, line in zip(found, draft.lines) if f is not None]
    cart = session_prices.price_lines(session, known) if known else None
    priced_lines = iter(cart.lines if cart else ())
    lines, total = [], 0
    for line, match in zip(draft.lines, found):
        price = next(priced_lines) if match else None
        lines.append({**line, "product_name": match[0].product.name if match else None,
                      "variant_name": match[1].variant.name if match else None,
                      "unit_price": price.unit_price if price else None,
                      "line_total": price.line_total if price else None})
        total += price.line_total if price else 0
    return {"draft": draft, "lines": lines, "total": total}


def _open(draft: DraftOrder) -> None:
    if draft.status != "open":
        raise Conflict("livestream.draft_closed", "Đơn nháp đã được xác nhận hoặc từ chối.",
                       "The draft has already been confirmed or rejected.", {"status": draft.status})


def edit(user, session, draft: DraftOrder, data: dict) -> DraftOrder:
    """The seller sets the lines (and phone); comments no longer change this draft. Flushes."""
    _open(draft)
    if "lines" in data:
        merged: dict[tuple, int] = {}
        for n, line in enumerate(data["lines"]):
            found = showcases.variant_of(session, line["code"], line.get("variant_sku"))
            if found is None:
                raise invalid(f"lines.{n}", "mã hoặc biến thể không có trong phiên",
                              "code or variant not in the session's showcase", code="livestream.unknown_line")
            key = (found[0].code, found[1].variant.sku)
            merged[key] = merged.get(key, 0) + line["quantity"]
        draft.lines = [{"code": c, "variant_sku": s, "quantity": q} for (c, s), q in merged.items()]
    if "phone" in data:
        draft.phone = data["phone"]
    draft.edited, draft.to_review, draft.updated_at = True, [], utcnow()
    db.session.flush()
    events.record(session.id, "draft", draft_event(draft))
    return draft


def reject(user, session, draft: DraftOrder) -> DraftOrder:
    _open(draft)
    draft.status, draft.updated_at = "rejected", utcnow()
    events.record(session.id, "draft", draft_event(draft))
    db.session.flush()
    return draft


def _checkout_lines(session, draft: DraftOrder) -> list[tuple]:
    if not draft.lines:
        raise ValidationFailed({"lines": [Message("đơn nháp chưa có dòng hàng", "the draft has no lines")]}, code="livestream.draft_empty",
                               message="Đơn nháp chưa có sản phẩm.", message_en="The draft has no lines.")
    out = []
    for n, line in enumerate(draft.lines):
        found = showcases.variant_of(session, line["code"], line["variant_sku"])
        if found is None:
            raise ValidationFailed({f"lines.{n}": [Message("hãy chọn biến thể (sửa đơn nháp)", "choose the variant (edit the draft)")]},
                                   code="livestream.variant_required",
                                   message="Dòng hàng chưa rõ biến thể; hãy sửa đơn nháp.",
                                   message_en="A line does not say which variant; edit the draft.")
        out.append(found)
    return out


def confirm(user, session, draft: DraftOrder, data: dict) -> tuple[Order, bool]:
    """Place the draft's core order (idempotent: a confirmed draft returns its order). Returns (order, created).

    Steps: release the session's hold on the draft's variants, open a checkout with the lines and the
    contact and address the seller typed, move it to the session's channel, complete it (the core
    allocates the stock), top the holds up again. The core checkout commits as it goes.
    """
    if draft.status == "confirmed":
        return db.session.get(Order, draft.order_id), False
    _open(draft)
    if data["payment_gateway"] not in GATEWAYS:
        raise invalid("payment_gateway", "chỉ COD hoặc chuyển khoản", "cod or bank_transfer only")
    offered = _checkout_lines(session, draft)
    key = f"livestream:draft:{draft.id}"
    order = _placed_before(draft, key)
    if order is None:
        token = _open_checkout(user, session, draft, offered, data)
        view, _ = placement.place_from_checkout(token, idempotency_key=key)
        order = db.session.execute(select(Order).where(Order.number == view["number"])).scalar_one()
    draft.status, draft.order_id, draft.updated_at = "confirmed", order.id, utcnow()
    db.session.flush()
    for _, o in offered:
        holds.top_up(session, o, user)
    events.record(session.id, "order", {"draft_id": draft.id, "order_id": order.id, "number": order.number,
                                        "author_id": draft.author_id, "total": order.total})
    db.session.flush()
    return order, True


def _placed_before(draft: DraftOrder, key: str) -> Order | None:
    """An order an earlier, interrupted confirm placed for this draft."""
    return db.session.execute(select(Order).where(Order.idempotency_key == key)).scalar_one_or_none()


def _open_checkout(user, session, draft: DraftOrder, offered: list, data: dict) -> str:
    for _, o in offered:
        holds.release(session, o.variant_id, user)
    view = checkout.create({"lines": [{"sku": o.variant.sku, "quantity": line["quantity"]}
                                      for (_, o), line in zip(offered, draft.lines)],
                            "full_name": data.get("full_name") or draft.author_name or draft.author_id,
                            "phone": data.get("phone") or draft.phone, "shipping_address": data["shipping_address"],
                            "payment_gateway": data["payment_gateway"],
                            "delivery_method": data.get("delivery_method") or "standard",
                            "note": data.get("note")}, channel=sessions.session_channel(session))
    draft.checkout_token = view["token"]
    db.session.flush()
    return view["token"]

