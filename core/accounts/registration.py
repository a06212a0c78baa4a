"""Producer self-registration: a pending producer and its producer account, verified later by the organiser."""
from __future__ import annotations

from core.accounts.authentication import create_user
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue import producers
from core.catalogue.models import Producer
from core.db import db


def register_producer(data: dict, username: str, password: str) -> tuple[Producer, User]:
    """Self-registration: a *pending* producer and its producer account; nothing is listed until verified."""
    producer = Producer(status="pending")
    producers.apply_fields(producer, dict(data))
    db.session.add(producer)
    db.session.flush()
    user = create_user(username, password, "producer", producer_id=producer.id,
                       full_name=data.get("contact_name"), email=data.get("email"))
    audit.record("producer.registered", producer, actor=user, province_code=producer.province_code)
    return producer, user
