"""Who may bulk-import (object-level checks of the import; each row is then checked like the admin API).

Admins import anywhere, organisers only producers of their own province (the
catalogue's :func:`~core.catalogue.access.require_province`); central-level
certifications need an admin (:func:`~core.certification.access.may_record_level`).
"""
from __future__ import annotations

from core.errors import Forbidden

IMPORT_ROLES = ("admin", "organiser")


def can_import(user) -> bool:
    """An admin or an organiser (``ocop import`` without ``--user`` acts as the platform, an admin)."""
    return user is not None and user.role in IMPORT_ROLES


def require_importer(user) -> None:
    """403 unless ``user`` may run a bulk import."""
    if not can_import(user):
        raise Forbidden(details={"allowed_roles": list(IMPORT_ROLES)})
