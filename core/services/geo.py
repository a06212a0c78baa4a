"""Administrative units: loading the 2025 structure, retired units and their successors."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select

from core.db import db
from core.errors import NotFound, invalid
from core.models import AdministrativeUnit
from core.text import fold, nfc


def get_unit(code: str) -> AdministrativeUnit:
    unit = db.session.get(AdministrativeUnit, code)
    if unit is None:
        raise NotFound("administrative_unit", "đơn vị hành chính", {"code": code})
    return unit


def current_unit(unit: AdministrativeUnit) -> AdministrativeUnit:
    """Follow ``successor`` links from a retired unit to the unit in force today."""
    seen = set()
    while unit.successor_code and unit.code not in seen:
        seen.add(unit.code)
        unit = db.session.get(AdministrativeUnit, unit.successor_code)
    return unit


def province_of(unit: AdministrativeUnit) -> AdministrativeUnit:
    """The *current* province a unit belongs to (through successors and parents)."""
    unit = current_unit(unit)
    while unit.level != "province" and unit.parent_code:
        unit = current_unit(db.session.get(AdministrativeUnit, unit.parent_code))
    return unit


def lineage(unit: AdministrativeUnit) -> list[AdministrativeUnit]:
    """The unit and its ancestors as named on the certificate (commune, district, province)."""
    chain = [unit]
    while chain[-1].parent_code:
        chain.append(db.session.get(AdministrativeUnit, chain[-1].parent_code))
    return chain


def require_commune(code: str, field: str = "commune_code") -> AdministrativeUnit:
    """Validate that ``code`` is a commune-level unit (current or retired)."""
    unit = db.session.get(AdministrativeUnit, code) if code else None
    if unit is None or unit.level != "commune":
        raise invalid(field, "mã xã/phường không tồn tại", "unknown commune code")
    return unit


def upsert_units(rows: Iterable[dict]) -> int:
    """Insert or update units from dicts (code, name, level, parent, successor, retired_on, note). Caller commits.

    Rows may come in any order: parents and successors are linked after all units exist.
    """
    rows = list(rows)
    existing = {u.code: u for u in db.session.execute(select(AdministrativeUnit)).scalars()}
    for row in rows:
        unit = existing.get(row["code"])
        if unit is None:
            unit = AdministrativeUnit(code=row["code"])
            db.session.add(unit)
            existing[row["code"]] = unit
        unit.name = nfc(row["name"])
        unit.name_folded = fold(unit.name)
        unit.level = row["level"]
        unit.note = row.get("note")
        retired = row.get("retired_on")
        unit.retired_on = dt.date.fromisoformat(retired) if isinstance(retired, str) else retired
    db.session.flush()
    for row in rows:
        unit = existing[row["code"]]
        unit.parent_code = row.get("parent")
        unit.successor_code = row.get("successor")
    db.session.flush()
    return len(rows)


def official_units() -> list[dict]:
    """The 34 provinces and 3,321 communes/wards of the 2025 structure from ``vietnam-provinces``."""
    try:
        from vietnam_provinces import Province, Ward
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("install the 'geo' extra: pip install 'ocop-commerce[geo]'") from exc
    rows = [{"code": f"{int(p.code):02d}", "name": p.name, "level": "province"} for p in Province.iter_all()]
    rows += [{"code": f"{int(w.code):05d}", "name": w.name, "level": "commune",
              "parent": f"{int(w.province_code):02d}"} for w in Ward.iter_all()]
    return rows


def convert_old_address(address: str) -> dict | None:
    """Convert a pre-2025 address ("Xã Bình Hòa, Huyện Vĩnh Cửu, Tỉnh Đồng Nai") to the current units."""
    try:
        from vietnamadminunits import convert_address
    except ImportError as exc:  # pragma: no cover
        raise RuntimeError("install the 'geo' extra: pip install 'ocop-commerce[geo]'") from exc
    try:
        unit = convert_address(address)
    except Exception:  # the converter raises plain exceptions on unparseable input
        return None
    if not unit or not unit.ward_code:
        return None
    return {"province_code": unit.province_code, "commune_code": unit.ward_code,
            "province": unit.province, "commune": unit.ward}
