"""Tells in-transaction subscribers when a listed product's search document changes without a listing refresh.

A producer's name, legal form or commune, or a product's images, feed the
product's document but do not change whether it is listed. Whatever changes
them (a service, the bulk import, a script), the ORM flush notices and
publishes ``catalogue.document_changed`` (see ``core.db``) for each listed
product concerned, inside the same transaction.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from core.catalogue.models import Producer, ProductImage
from core.db import publish

#: Producer fields shown in a product's search document.
DOCUMENT_FIELDS = ("name", "legal_form", "commune_code", "province_code", "slug")


@event.listens_for(Session, "before_flush")
def _publish_document_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty):
        if isinstance(obj, Producer) and session.is_modified(obj, include_collections=False):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in DOCUMENT_FIELDS):
                for product in obj.products:
                    if product.is_listed:
                        publish("catalogue.document_changed", product=product, reason="producer")
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, ProductImage):
            product = obj.product
            if product is not None and product.is_listed and product.id is not None:
                publish("catalogue.document_changed", product=product, reason="image")
