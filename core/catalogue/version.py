"""Per-process cache of storefront list answers, keyed by the catalogue version.

Every transaction that changes listing state bumps ``catalogue_version``
(see :func:`bump`), so a cached answer is never served after a change has
committed — in any worker — at the cost of one primary-key read per request.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import select, update

from core import clock
from core.db import db
from core.catalogue.models import CatalogueVersion

_MAX_ENTRIES = 512
_lock = threading.Lock()
_entries: OrderedDict = OrderedDict()


def current_version() -> int:
    """The committed catalogue version (0 before the first change)."""
    return db.session.execute(select(CatalogueVersion.version).where(CatalogueVersion.id == 1)).scalar() or 0


def bump() -> None:
    """Increase the catalogue version inside the caller's transaction."""
    updated = db.session.execute(update(CatalogueVersion).where(CatalogueVersion.id == 1)
                                 .values(version=CatalogueVersion.version + 1)).rowcount
    if not updated:
        db.session.add(CatalogueVersion(id=1, version=1))
        db.session.flush()


def cached(namespace: str, args: dict, build):
    """Return ``build()`` for (namespace, args), reusing the answer while the catalogue version and day are unchanged."""
    key = (namespace, current_version(), clock.today(), tuple(sorted(args.items())))
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    value = build()
    with _lock:
        _entries[key] = value
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
