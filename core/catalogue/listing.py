"""Whether a product is *listed*: active, verified producer, active unexpired 3+ star certification.

The state is denormalised on ``Product`` (``is_listed``, ``listed_stars``,
``listed_until``, ``price_min``/``price_max``) so the storefront can filter
cheaply; ``listed_until`` keeps reads right even before the daily expiry job.
"""
from __future__ import annotations

from core import clock
from core.db import db, on_commit
from core.catalogue.models import Product
from core.certification.rules import min_listed_stars

_listeners: list = []


def add_listener(callback) -> None:
    """Register ``callback(product, was_listed, reason)`` called inside the transaction on every refresh.

    Used by core services that must record work in the same transaction
    (the search outbox); plugins use the after-commit hooks instead.
    """
    if callback not in _listeners:
        _listeners.append(callback)


def listable_certification(product: Product):
    """The certification that makes ``product`` listable today, or None."""
    cert = product.current_certification()
    if cert is None or cert.stars < min_listed_stars() or cert.expires_on <= clock.today():
        return None
    return cert


def refresh(product: Product, reason: str = "changed") -> bool:
    """Recompute the listing state of ``product`` (caller commits); fire listed/delisted hooks after commit."""
    was_listed = bool(product.is_listed)
    cert = listable_certification(product)
    active_variants = [v for v in product.variants if v.active]
    prices = [v.price for v in active_variants]
    product.price_min = min(prices) if prices else None
    product.price_max = max(prices) if prices else None
    producer_ok = product.producer is not None and product.producer.status == "verified"
    listed = bool(cert and product.status == "active" and producer_ok and active_variants)
    product.is_listed = listed
    product.listed_stars = cert.stars if cert else None
    product.listed_until = cert.expires_on if (cert and listed) else None
    db.session.flush()
    from core.catalogue.version import bump
    bump()
    for listener in _listeners:
        listener(product, was_listed, reason)
    if listed != was_listed:
        from core.plugins import hooks
        hook = hooks()
        if listed:
            on_commit(lambda: hook.product_listed(product=product))
        else:
            on_commit(lambda: hook.product_delisted(product=product, reason=reason))
    return listed
