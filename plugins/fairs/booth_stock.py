"""Goods at a booth: two-step transfers in and out, sales as core counter-sale orders, the settlement.

In: producer warehouse → the event's transit location (dispatched) → the exhibitor's ``fair_booth``
location (received; what did not arrive is written off in transit). Out: the reverse. Sales at the
booth are :func:`core.sales.counter.record_counter_sale` orders on the event's ``fair_booth`` channel,
so prices come from the core and a fair promotion on that channel applies. The settlement reads the
ledger: moved in − sold + customer returns − moved out + counted discrepancies = on hand. Flushes only.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core import clock
from core.accounts import authentication as accounts
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue import listing
from core.catalogue.models import Variant
from core.db import db, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.inventory import ledger
from core.inventory.models import Stock, StockLocation, StockLot, StockMovement
from core.plugins import LazyModule
from core.sales import counter
from core.sales.models import Order, SalesChannel
from plugins.fairs import access
from plugins.fairs.allocation import get_assignment
from plugins.fairs.events import require_status
from plugins.fairs.models import FairAssignment, FairBoothStaff, FairEvent, FairSale, FairSettlement, FairStockMove

# openpyxl (with lxml) costs ~11 MB at import: loaded when a spreadsheet is first read or written
openpyxl = LazyModule("openpyxl")

MOVE_STATUSES = {"in": ("published", "running"), "out": ("running", "closed")}
SALE_METHODS = {"cash": "cash", "card": "card", "bank_transfer_qr": "transfer"}


def _event(assignment: FairAssignment) -> FairEvent:
    return db.session.get(FairEvent, assignment.event_id)


def exhibitor_assignment(user: User, assignment_id: int, *, staff: bool = False) -> tuple[FairAssignment, FairEvent]:
    """An assignment its exhibitor (the producer's users) or the event's organiser may act on; with ``staff``
    also the booth's own staff (receiving goods, selling, returns)."""
    assignment = get_assignment(assignment_id)
    event = _event(assignment)
    if not (staff and access.is_booth_staff(user, assignment.id)):
        access.require_exhibitor_or_manager(user, event, assignment.producer_id)
    return assignment, event


def add_staff(user: User, assignment_id: int, data: dict) -> FairBoothStaff:
    """Bind an ``operator`` account to the booth (created when a password is given). Exhibitor or organiser."""
    assignment, event = exhibitor_assignment(user, assignment_id)
    staff = db.session.execute(select(User).where(User.username == data["username"])).scalar_one_or_none()
    if staff is None:
        if not data.get("password"):
            raise NotFound("user", "tài khoản", {"username": data["username"]})
        staff = accounts.create_user(data["username"], data["password"], "operator", full_name=data.get("full_name"))
    if staff.role != "operator":
        raise DomainError("fair.not_an_operator", "Chỉ tài khoản nhân viên (operator) mới được gán cho gian hàng.",
                          "Only operator accounts can be booth staff.", {"username": staff.username}, status=422)
    if access.is_booth_staff(staff, assignment.id):
        raise Conflict("fair.already_staff", "Nhân viên đã được gán cho gian này.", "Already staff of this booth.",
                       {"username": staff.username})
    row = FairBoothStaff(assignment_id=assignment.id, user_id=staff.id)
    db.session.add(row)
    db.session.flush()
    audit.record("fair.staff_added", row, actor=user, province_code=event.province_code,
                 after={"assignment_id": assignment.id, "username": staff.username})
    return row


def list_staff(user: User, assignment_id: int) -> list[FairBoothStaff]:
    assignment, _ = exhibitor_assignment(user, assignment_id)
    return list(db.session.execute(select(FairBoothStaff).where(FairBoothStaff.assignment_id == assignment.id)
                                   .order_by(FairBoothStaff.id)).scalars())


def remove_staff(user: User, assignment_id: int, user_id: int) -> None:
    assignment, event = exhibitor_assignment(user, assignment_id)
    row = db.session.execute(select(FairBoothStaff).where(FairBoothStaff.assignment_id == assignment.id,
                                                          FairBoothStaff.user_id == user_id)).scalar_one_or_none()
    if row is None:
        raise NotFound("fair_booth_staff", "nhân viên gian hàng")
    audit.record("fair.staff_removed", row, actor=user, province_code=event.province_code)
    db.session.delete(row)
    db.session.flush()


def warehouse_of(assignment: FairAssignment, warehouse_id: int | None = None) -> StockLocation | None:
    """The exhibitor's active warehouse ``warehouse_id`` (default: its first one), or None."""
    stmt = select(StockLocation).where(StockLocation.kind == ledger.PRODUCER_WAREHOUSE,
                                       StockLocation.producer_id == assignment.producer_id,
                                       StockLocation.active.is_(True))
    if warehouse_id is not None:
        stmt = stmt.where(StockLocation.id == warehouse_id)
    return db.session.execute(stmt.order_by(StockLocation.id).limit(1)).scalar_one_or_none()


def _warehouse(assignment: FairAssignment, warehouse_id: int | None) -> StockLocation:
    warehouse = warehouse_of(assignment, warehouse_id)
    if warehouse is None:
        raise invalid("warehouse_id", "không có kho của chủ thể này", "no warehouse of this exhibitor",
                      code="fair.unknown_warehouse")
    return warehouse


def _exhibit_variants(assignment: FairAssignment, lines: list[dict]) -> list[tuple[Variant, int]]:
    """``(variant, quantity)`` per line: the exhibitor's own variants of the products it applied with."""
    shown = set(assignment.application.product_ids or [])
    out = []
    for i, line in enumerate(lines):
        variant = db.session.get(Variant, line["variant_id"])
        if variant is None:
            raise invalid(f"lines[{i}].variant_id", "không có biến thể này", "no such variant",
                          code="fair.unknown_variant")
        if variant.product.producer_id != assignment.producer_id or variant.product_id not in shown:
            raise DomainError("fair.product_not_exhibited", "Sản phẩm không nằm trong danh sách trưng bày của gian.",
                              "This product is not among the booth's exhibited products.",
                              {"line": i, "sku": variant.sku}, status=422)
        out.append((variant, line["quantity"]))
    return out


# --- two-step transfers ---------------------------------------------------------------------------
def dispatch(user: User, assignment_id: int, data: dict) -> FairStockMove:
    """Send goods to the booth (``in``) or back to the warehouse (``out``): they wait in transit until received."""
    assignment, event = exhibitor_assignment(user, assignment_id)
    direction = data["direction"]
    require_status(event, f"move_{direction}", *MOVE_STATUSES[direction])
    warehouse = _warehouse(assignment, data.get("warehouse_id"))
    source = warehouse.id if direction == "in" else assignment.stock_location_id
    move = FairStockMove(event_id=event.id, assignment_id=assignment.id, direction=direction, status="dispatched",
                         warehouse_id=warehouse.id, lines=[], created_by_id=user.id)
    db.session.add(move)
    db.session.flush()
    move.reference = f"FAIR-MV-{move.id:06d}"
    lines = []
    for variant, quantity in _exhibit_variants(assignment, data["lines"]):
        movements = ledger.transfer(source, event.transit_location_id, variant, quantity, actor=user,
                                    reason=f"{move.reference}: {'đưa hàng đến gian' if direction == 'in' else 'đưa hàng về kho'}"
                                           f" / {'to the booth' if direction == 'in' else 'back to the warehouse'}",
                                    reference=move.reference)
        lots = [{"lot_no": db.session.get(StockLot, m.lot_id).lot_no, "quantity": m.quantity}
                for m in movements if m.kind == "transfer_in"]
        lines.append({"variant_id": variant.id, "sku": variant.sku, "quantity": quantity, "received": None,
                      "lots": lots})
    move.lines = lines
    db.session.flush()
    audit.record("fair.stock_dispatched", move, actor=user, province_code=event.province_code)
    return move


def get_move(user: User, move_id: int) -> FairStockMove:
    move = db.session.get(FairStockMove, move_id)
    if move is None:
        raise NotFound("fair_stock_move", "phiếu chuyển hàng")
    exhibitor_assignment(user, move.assignment_id, staff=move.direction == "in")  # staff receive at their booth
    return move


def receive(user: User, move_id: int, data: dict) -> FairStockMove:
    """Receive a dispatched move: what arrived goes on (to the booth, or the warehouse); the rest is written off."""
    move = get_move(user, move_id)
    if move.status != "dispatched":
        raise Conflict("fair.move_received", "Phiếu chuyển hàng đã được nhận.", "This move was already received.",
                       {"move_id": move.id})
    assignment = db.session.get(FairAssignment, move.assignment_id)
    event = _event(assignment)
    target = assignment.stock_location_id if move.direction == "in" else move.warehouse_id
    received = {row["variant_id"]: row["received"] for row in data.get("lines") or []}
    unknown = set(received) - {line["variant_id"] for line in move.lines}
    if unknown:
        raise invalid("lines", "dòng không thuộc phiếu chuyển", "a line is not on this move", code="fair.unknown_line")
    lines = []
    for line in move.lines:
        got = received.get(line["variant_id"], line["quantity"])
        if got > line["quantity"]:
            raise invalid("lines", "số nhận vượt số gửi", "more received than dispatched", code="fair.over_received")
        left = got
        for lot in line["lots"]:
            take = min(left, lot["quantity"])
            if take:
                ledger.transfer(event.transit_location_id, target, line["variant_id"], take, actor=user,
                                reason=f"{move.reference}: nhận hàng / received", lot_no=lot["lot_no"],
                                reference=move.reference)
            missing = lot["quantity"] - take
            if missing:
                ledger.adjust(event.transit_location_id, line["variant_id"], -missing, actor=user, lot_no=lot["lot_no"],
                              reason=f"{move.reference}: thiếu khi nhận / missing on receipt")
            left -= take
        lines.append({**line, "received": got})
    move.lines, move.status, move.received_at = lines, "received", utcnow()
    db.session.flush()
    audit.record("fair.stock_received", move, actor=user, province_code=event.province_code)
    return move


def list_moves(user: User, assignment_id: int) -> list[FairStockMove]:
    assignment, _ = exhibitor_assignment(user, assignment_id, staff=True)
    return list(db.session.execute(select(FairStockMove).where(FairStockMove.assignment_id == assignment.id)
                                   .order_by(FairStockMove.id)).scalars())


# --- sales ----------------------------------------------------------------------------------------
def sell(user: User, assignment_id: int, data: dict) -> tuple[FairSale, bool]:
    """A sale at the booth: a core counter-sale order on the event's channel, from the exhibitor's booth stock.

    ``client_ref`` (per booth) makes a retry return the first sale. Unlisted products are refused
    (``fair.product_not_listed``); stock never goes below zero (``stock.insufficient``, 409).
    """
    assignment, event = exhibitor_assignment(user, assignment_id, staff=True)
    require_status(event, "sell", "running")
    client_ref = f"fair:{assignment.id}:{data['client_ref']}" if data.get("client_ref") else None
    lines = []
    for i, (variant, quantity) in enumerate(_exhibit_variants(assignment, data["lines"])):
        if not listing.is_listed(variant.product):
            raise DomainError("fair.product_not_listed", "Sản phẩm không còn được công nhận OCOP, không được bán.",
                              "This product is no longer a listed OCOP product.", {"line": i, "sku": variant.sku},
                              status=422)
        lines.append(counter.CounterLine(variant.id, quantity))
    method = data["payment_method"]
    payment = counter.CounterPayment(method=SALE_METHODS[method], reference=data.get("payment_reference"),
                                     tendered=data.get("amount_tendered") if method == "cash" else None)
    channel = db.session.get(SalesChannel, event.sales_channel_id)
    order, created = counter.record_counter_sale(channel, assignment.stock_location_id, lines, [payment], user,
                                                 client_ref=client_ref)
    if not created:
        sale = db.session.execute(select(FairSale).where(FairSale.order_id == order.id)).scalar_one_or_none()
        if sale is not None:
            return sale, False
    sale = FairSale(event_id=event.id, assignment_id=assignment.id, order_id=order.id, order=order,
                    sold_by_id=user.id, sold_on=clock.today())
    db.session.add(sale)
    db.session.flush()
    audit.record("fair.sale", sale, actor=user, province_code=event.province_code,
                 after={"order": order.number, "total": order.total, "booth_location_id": assignment.stock_location_id})
    return sale, created


def return_sale(user: User, sale_id: int, data: dict) -> FairSale:
    """A customer brings goods back to the booth: the core counter return (refund, stock back to the booth)."""
    sale = db.session.get(FairSale, sale_id)
    if sale is None:
        raise NotFound("fair_sale", "hoá đơn")
    assignment, event = exhibitor_assignment(user, sale.assignment_id, staff=True)
    require_status(event, "return", "running", "closed")
    counter.return_counter_sale(sale.order, [counter.ReturnLine(r["order_line_id"], r["quantity"]) for r in data["lines"]],
                                user, data["reason"], restock=True, refund_method=data.get("refund_method"))
    db.session.flush()
    return sale


def list_sales(user: User, assignment_id: int) -> list[FairSale]:
    assignment, _ = exhibitor_assignment(user, assignment_id, staff=True)
    return list(db.session.execute(select(FairSale).options(selectinload(FairSale.order).selectinload(Order.lines))
                                   .where(FairSale.assignment_id == assignment.id).order_by(FairSale.id)).scalars())


# --- the settlement -------------------------------------------------------------------------------
KIND_COLUMNS = {"transfer_in": "moved_in", "sale": "sold", "return": "customer_returns", "transfer_out": "moved_out",
                "count": "discrepancy", "adjustment": "discrepancy"}
COLUMNS = (("sku", "Mã SKU / SKU"), ("name", "Sản phẩm / Product"), ("moved_in", "Đưa đến gian / Moved in"),
           ("sold", "Đã bán / Sold"), ("customer_returns", "Khách trả / Customer returns"),
           ("moved_out", "Đưa về kho / Moved out"), ("discrepancy", "Chênh lệch kiểm đếm / Discrepancy"),
           ("on_hand", "Còn tại gian / On hand"), ("sales_value", "Doanh thu / Sales value (VND)"))


def compute(assignment: FairAssignment) -> dict:
    """The exhibitor's figures from the ledger (per variant): every movement at its booth location is counted."""
    rows = db.session.execute(
        select(Stock.variant_id, StockMovement.kind, func.sum(StockMovement.quantity))
        .join(Stock, Stock.id == StockMovement.stock_id)
        .where(Stock.location_id == assignment.stock_location_id)
        .group_by(Stock.variant_id, StockMovement.kind)).all()
    lines: dict[int, dict] = {}
    for variant_id, kind, quantity in rows:
        line = lines.setdefault(variant_id, {key: 0 for key, _ in COLUMNS[2:]})
        column = KIND_COLUMNS.get(kind, "discrepancy")
        line[column] += -int(quantity) if column in ("sold", "moved_out") else int(quantity)
    for variant_id, on_hand in db.session.execute(select(Stock.variant_id, Stock.on_hand).where(
            Stock.location_id == assignment.stock_location_id)).all():
        lines.setdefault(variant_id, {key: 0 for key, _ in COLUMNS[2:]})["on_hand"] = on_hand
    value: dict[int, int] = defaultdict(int)
    for sale in db.session.execute(select(FairSale).where(FairSale.assignment_id == assignment.id)).scalars():
        for line in sale.order.lines:
            returned_value = line.unit_price * line.returned_quantity
            value[line.variant_id] += line.line_total - returned_value
    variants = {v.id: v for v in db.session.execute(select(Variant).where(Variant.id.in_(list(lines)))).scalars()}
    out = []
    for variant_id in sorted(lines, key=lambda i: variants[i].sku):
        line = lines[variant_id]
        variant = variants[variant_id]
        line.update(variant_id=variant_id, sku=variant.sku, name=f"{variant.product.name} – {variant.name}",
                    sales_value=value.get(variant_id, 0))
        line["balanced"] = (line["moved_in"] - line["sold"] + line["customer_returns"] - line["moved_out"]
                            + line["discrepancy"]) == line["on_hand"]
        out.append(line)
    totals = {key: sum(line[key] for line in out) for key, _ in COLUMNS[2:]}
    event = _event(assignment)
    settled = db.session.execute(select(FairSettlement).where(
        FairSettlement.assignment_id == assignment.id)).scalar_one_or_none()
    return {"event": {"id": event.id, "slug": event.slug, "name": event.name},
            "booth_code": assignment.booth.code, "assignment_id": assignment.id,
            "producer": {"id": assignment.producer_id, "name": assignment.producer.name},
            "lines": out, "totals": totals, "balanced": all(line["balanced"] for line in out),
            "settled_at": settled.settled_at if settled else None}


def settlement_for(user: User, assignment_id: int) -> dict:
    assignment, _ = exhibitor_assignment(user, assignment_id)
    return compute(assignment)


def settle(user: User, assignment_id: int, data: dict) -> dict:
    """Close the exhibitor's books after the fair: physical counts at the booth become discrepancies, then the
    figures are stored. Organiser (or admin) only, once the event is closed; once per exhibitor."""
    assignment = get_assignment(assignment_id)
    event = _event(assignment)
    access.require_manage(user, event)
    require_status(event, "settle", "closed")
    if db.session.execute(select(FairSettlement.id).where(FairSettlement.assignment_id == assignment.id)).first():
        raise Conflict("fair.already_settled", "Gian hàng đã được quyết toán.", "This exhibitor is already settled.",
                       {"assignment_id": assignment.id})
    for i, row in enumerate(data.get("counts") or []):
        stock = db.session.execute(select(Stock).where(Stock.location_id == assignment.stock_location_id,
                                                       Stock.variant_id == row["variant_id"])).scalar_one_or_none()
        if stock is None:
            raise invalid(f"counts[{i}].variant_id", "gian không có sản phẩm này", "the booth never held this variant",
                          code="fair.unknown_variant")
        ledger.count(assignment.stock_location_id, row["variant_id"], row["counted"], actor=user,
                     reason=f"Quyết toán {event.slug} gian {assignment.booth.code} / fair settlement count",
                     lot_no=row.get("lot_no"))
    db.session.flush()
    figures = compute(assignment)
    row = FairSettlement(event_id=event.id, assignment_id=assignment.id, settled_by_id=user.id,
                         lines=[{k: v for k, v in line.items()} for line in figures["lines"]],
                         sales_value=figures["totals"]["sales_value"])
    db.session.add(row)
    db.session.flush()
    audit.record("fair.settled", row, actor=user, province_code=event.province_code)
    figures["settled_at"] = row.settled_at
    return figures


# --- exports (formula-safe) ----------------------------------------------------------------------
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A text cell a spreadsheet will not run as a formula: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _rows(s: dict) -> list[list]:
    rows = [["Quyết toán gian hàng hội chợ / Fair booth settlement"],
            ["Sự kiện / Event", s["event"]["name"]],
            ["Gian / Booth", s["booth_code"]],
            ["Chủ thể / Exhibitor", s["producer"]["name"]], [],
            [label for _, label in COLUMNS]]
    rows += [[line[key] for key, _ in COLUMNS] for line in s["lines"]]
    rows.append(["", "Tổng / Total"] + [s["totals"][key] for key, _ in COLUMNS[2:]])
    return [[safe_cell(cell) for cell in row] for row in rows]


def to_csv(s: dict) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(_rows(s))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(s: dict) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Quyet toan"
    for row in _rows(s):
        ws.append(row)
    ws["A1"].font = openpyxl.styles.Font(bold=True, size=13)
    for cell in ws[6]:
        cell.font = openpyxl.styles.Font(bold=True)
    ws.column_dimensions["B"].width = 48
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(s: dict, ext: str) -> str:
    return f"quyet-toan-{s['event']['slug']}-{s['booth_code']}-cs{s['producer']['id']}.{ext}"


def my_assignments(user: User) -> list[FairAssignment]:
    """The booths a producer exhibits at, or the booths an ``operator`` staffs (the console's booth pages)."""
    stmt = select(FairAssignment).order_by(FairAssignment.id.desc())
    if user.role == "producer" and user.producer_id is not None:
        stmt = stmt.where(FairAssignment.producer_id == user.producer_id)
    elif user.role == "operator":
        stmt = stmt.join(FairBoothStaff, FairBoothStaff.assignment_id == FairAssignment.id).where(
            FairBoothStaff.user_id == user.id)
    else:
        return []
    return list(db.session.execute(stmt).scalars())
