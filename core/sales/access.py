"""Who may see and manage an order: admins all; organisers orders with a line of their province's producers;
producers their own lines (never another producer's); whole-order actions need authority over every line."""
from __future__ import annotations

from sqlalchemy import exists, select

from core.accounts.models import User
from core.catalogue.models import Producer
from core.db import db
from core.errors import Forbidden
from core.sales.models import Order, OrderLine

ORDER_VIEWERS = ("admin", "organiser", "producer")
MANAGERS = ("admin", "organiser")


def producer_ids(order: Order) -> set[int]:
    return {line.producer_id for line in order.lines}


def can_view(user: User, order: Order) -> bool:
    """admin: all; organiser: an order with a line of a producer in their province; producer: its own lines."""
    if user.role == "admin":
        return True
    if user.role == "organiser":
        provinces = set(db.session.execute(select(Producer.province_code)
                                           .where(Producer.id.in_(producer_ids(order)))).scalars())
        return user.province_code in provinces
    if user.role == "producer":
        return user.producer_id is not None and user.producer_id in producer_ids(order)
    return False


def require_view(user: User, order: Order) -> None:
    """Raise 403 unless ``user`` may see ``order``."""
    if not can_view(user, order):
        raise Forbidden("auth.out_of_scope", "Đơn hàng này nằm ngoài phạm vi của bạn.",
                        "This order is outside your scope.", {"order_id": order.id})


def can_manage(user: User, order: Order) -> bool:
    """admin: every order; organiser: an order whose every line is of a producer in their province."""
    if user.role == "admin":
        return True
    if user.role != "organiser":
        return False
    provinces = set(db.session.execute(select(Producer.province_code)
                                       .where(Producer.id.in_(producer_ids(order)))).scalars())
    return provinces == {user.province_code}


def require_manage(user: User, order: Order) -> None:
    """Whole-order actions (confirm, cancel, payments, refunds) need authority over every line: admin, or the
    organiser of the one province all its producers are in (a multi-province order is the admin's)."""
    if user.role not in MANAGERS:
        raise Forbidden(details={"allowed_roles": list(MANAGERS)})
    require_view(user, order)
    if not can_manage(user, order):
        raise Forbidden("order.other_provinces", "Đơn hàng có sản phẩm của tỉnh khác; chỉ quản trị viên xử lý "
                        "toàn bộ đơn.", "The order has lines of other provinces; only an administrator acts "
                        "on the whole order.", {"order_id": order.id})


def scoped_orders(stmt, user: User):
    """``stmt`` (a select of orders) limited to the orders ``user`` may see."""
    if user.role == "admin":
        return stmt
    if user.role == "organiser":
        return stmt.where(exists().where(OrderLine.order_id == Order.id, Producer.id == OrderLine.producer_id,
                                         Producer.province_code == user.province_code))
    if user.role == "producer":
        return stmt.where(exists().where(OrderLine.order_id == Order.id,
                                         OrderLine.producer_id == (user.producer_id or -1)))
    return stmt.where(False)
