"""Who may act on a fair: admin everything; organisers their province's events; producers their own exhibits;
booth staff (``operator`` accounts) the one booth they are bound to."""
from __future__ import annotations

from sqlalchemy import select

from core.accounts.models import User
from core.db import db
from core.errors import Forbidden
from plugins.fairs.models import FairBoothStaff, FairEvent


def out_of_scope(**details) -> Forbidden:
    """The 403 answered when a user touches an event, application or booth outside their scope."""
    return Forbidden("fair.out_of_scope", "Sự kiện hoặc gian hàng này nằm ngoài phạm vi của bạn.",
                     "This event or booth is outside your scope.", details)


def can_manage_event(user: User | None, event: FairEvent) -> bool:
    """admin: every event; organiser: the events of their own province."""
    if user is None:
        return False
    return user.role == "admin" or (user.role == "organiser" and user.province_code == event.province_code)


def require_manage(user: User, event: FairEvent) -> None:
    """403 unless ``user`` organises ``event`` (or is admin)."""
    if not can_manage_event(user, event):
        raise out_of_scope(event_id=event.id)


def require_organiser_province(user: User, province_code: str) -> None:
    """403 unless ``user`` may create events in ``province_code``."""
    if not (user.role == "admin" or (user.role == "organiser" and user.province_code == province_code)):
        raise out_of_scope(province_code=province_code)


def acts_for_producer(user: User, producer_id: int) -> bool:
    """True for the producer's own users."""
    return user.role == "producer" and user.producer_id is not None and user.producer_id == producer_id


def require_exhibitor_or_manager(user: User, event: FairEvent, producer_id: int) -> None:
    """403 unless ``user`` is the exhibiting producer or the event's organiser (or admin)."""
    if not (acts_for_producer(user, producer_id) or can_manage_event(user, event)):
        raise out_of_scope(event_id=event.id, producer_id=producer_id)


def event_scope_clause(user: User):
    """A WHERE clause on ``FairEvent`` for admin listings (None: all). Producers see every event past draft."""
    if user.role == "admin":
        return None
    if user.role == "organiser":
        return FairEvent.province_code == user.province_code
    return FairEvent.status != "draft"


def is_booth_staff(user: User, assignment_id: int) -> bool:
    """True for an ``operator`` bound to this exhibitor's booth."""
    return user.role == "operator" and db.session.execute(select(FairBoothStaff.id).where(
        FairBoothStaff.assignment_id == assignment_id, FairBoothStaff.user_id == user.id)).first() is not None
