"""Administrative units: loading the 2025 structure, retired units and their successors.

Following successors and parents is :class:`core.geo.resolver.UnitResolver`'s
job; the functions here use a fresh resolver for one unit at a time.
"""
from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Iterable

from sqlalchemy import func, or_, select

from core.audit import trail as audit
from core.db import db, publish
from core.errors import Conflict, NotFound, invalid
from core.geo.models import AdministrativeUnit
from core.geo.resolver import UnitResolver
from core.pagination import paginate
from core.text import fold, nfc


def get_unit(code: str) -> AdministrativeUnit:
    unit = db.session.get(AdministrativeUnit, code)
    if unit is None:
        raise NotFound("administrative_unit", "đơn vị hành chính", {"code": code})
    return unit


def current_unit(unit: AdministrativeUnit) -> AdministrativeUnit:
    """Follow ``successor`` links from a retired unit to the unit in force today."""
    return UnitResolver().current(unit)


def province_of(unit: AdministrativeUnit) -> AdministrativeUnit:
    """The *current* province a unit belongs to (through successors and parents)."""
    return UnitResolver().province_of(unit)


def lineage(unit: AdministrativeUnit) -> list[AdministrativeUnit]:
    """The unit and its ancestors as named on the certificate (commune, district, province)."""
    return UnitResolver().lineage(unit)


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


#: retired pre-2025 units loaded from ``vietnamadminunits`` get this prefix: their official codes (01, 001,
#: 00001 …) were reused by the 2025 structure for other units
LEGACY_PREFIX = "old-"
RETIRED_ON_2025 = "2025-07-01"


def _vietnamadminunits():
    """The ``vietnamadminunits`` package (MIT; a plain dependency), imported on first use: importing it loads its
    address parser's data (about a second), which no request or worker needs."""
    import vietnamadminunits.converter.converter_2025
    import vietnamadminunits.database
    return vietnamadminunits


def _dataset(sql: str) -> list[dict]:
    """Rows of the administrative-units database shipped inside ``vietnamadminunits``."""
    return _vietnamadminunits().database.query(sql)


def official_units() -> list[dict]:
    """The 34 provinces and 3,321 communes/wards of the 2025 structure (official codes), from ``vietnamadminunits``."""
    provinces = _dataset("SELECT DISTINCT provinceCode, provinceShort FROM admin_units ORDER BY provinceCode")
    wards = _dataset("SELECT wardCode, ward, provinceCode FROM admin_units ORDER BY wardCode")
    rows = [{"code": p["provinceCode"], "name": p["provinceShort"], "level": "province"} for p in provinces]
    rows += [{"code": w["wardCode"], "name": w["ward"], "level": "commune", "parent": w["provinceCode"]}
             for w in wards]
    return rows


def legacy_units() -> list[dict]:
    """The 63 provinces, 696 districts and 10,035 communes in force before 1 July 2025, retired that day, each
    pointing to its successor (a commune split between several new ones: the converter's default), from
    ``vietnamadminunits``. Codes are the old official codes prefixed with :data:`LEGACY_PREFIX`."""
    new_codes = {(r["provinceKey"], r["wardKey"]): (r["provinceCode"], r["wardCode"]) for r in _dataset(
        "SELECT provinceKey, wardKey, provinceCode, wardCode FROM admin_units")}
    new_province_of_old: dict[str, str] = {}  # old province key → new province key
    ward_successor: dict[str, str] = {}  # "province_district_ward" key → new ward code
    converter_2025 = _vietnamadminunits().converter.converter_2025
    for new_province, old_provinces in converter_2025.DICT_PROVINCE.items():
        for old in old_provinces:
            new_province_of_old[old] = new_province
        for ward_key, old_keys in converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED.get(new_province, {}).items():
            for old_key in old_keys:
                if (new_province, ward_key) in new_codes:
                    ward_successor.setdefault(old_key, new_codes[(new_province, ward_key)][1])
        for old_key, options in converter_2025.DICT_PROVINCE_WARD_DIVIDED.get(new_province, {}).items():
            default = next((o["newWardKey"] for o in options if o["isDefaultNewWard"]), None)
            if (new_province, default) in new_codes:
                ward_successor.setdefault(old_key, new_codes[(new_province, default)][1])
    province_code_of_key = {key: code for (key, _), (code, _) in new_codes.items()}
    rows = _dataset("SELECT provinceCode, provinceShort, provinceKey, districtCode, district, districtKey, "
                    "wardCode, ward, wardKey FROM admin_units_legacy ORDER BY wardCode")
    provinces, districts, wards = {}, {}, {}
    for r in rows:
        province, district = LEGACY_PREFIX + r["provinceCode"], LEGACY_PREFIX + r["districtCode"]
        successor_province = province_code_of_key.get(new_province_of_old.get(r["provinceKey"]))
        provinces.setdefault(province, {"code": province, "name": r["provinceShort"], "level": "province",
                                        "successor": successor_province, "retired_on": RETIRED_ON_2025})
        # island districts without communes became special zones (đặc khu): the converter keys them "p_d_"
        districts.setdefault(district, {"code": district, "name": r["district"], "level": "district",
                                        "parent": province, "retired_on": RETIRED_ON_2025, "successor": (
                                            ward_successor.get(f"{r['provinceKey']}_{r['districtKey']}_")
                                            or successor_province)})
        if not r["wardCode"]:
            continue
        ward = LEGACY_PREFIX + r["wardCode"]
        successor = ward_successor.get(f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}") or successor_province
        wards.setdefault(ward, {"code": ward, "name": r["ward"], "level": "commune", "parent": district,
                                "successor": successor, "retired_on": RETIRED_ON_2025})
    return [*provinces.values(), *districts.values(), *wards.values()]


def convert_old_address(address: str) -> dict | None:
    """Convert a pre-2025 address ("Xã Bình Hòa, Huyện Vĩnh Cửu, Tỉnh Đồng Nai") to the current units."""
    try:
        unit = _vietnamadminunits().convert_address(address)
    except Exception:  # the converter raises plain exceptions on unparseable input
        return None
    if not unit or not unit.ward_code:
        return None
    return {"province_code": unit.province_code, "commune_code": unit.ward_code,
            "province": unit.province, "commune": unit.ward}


# --- browsing and administration ------------------------------------------------
_PARENT_LEVELS = {"province": (), "district": ("province",), "commune": ("district", "province")}
_EDITABLE = ("name", "parent_code", "successor_code", "retired_on", "note")


def list_units(args: dict) -> dict:
    """Units filtered by ``level``, ``parent``, ``q`` (diacritic-insensitive) and ``include_retired``; paginated."""
    stmt = select(AdministrativeUnit)
    if not args.get("include_retired"):
        stmt = stmt.where(AdministrativeUnit.retired_on.is_(None))
    if args.get("level"):
        stmt = stmt.where(AdministrativeUnit.level == args["level"])
    if args.get("parent"):
        stmt = stmt.where(AdministrativeUnit.parent_code == args["parent"])
    if args.get("q"):
        stmt = stmt.where(or_(AdministrativeUnit.name_folded.contains(fold(args["q"]).strip(), autoescape=True),
                              AdministrativeUnit.code == args["q"]))
    return paginate(stmt.order_by(AdministrativeUnit.level, AdministrativeUnit.code), args["page"], args["limit"])


def _brief(unit: AdministrativeUnit | None) -> dict | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "level": unit.level, "retired_on": unit.retired_on}


def successor_chain(unit: AdministrativeUnit) -> list[AdministrativeUnit]:
    """The units a retired unit was merged into, in order, ending with the unit in force (empty if current)."""
    return UnitResolver().successor_chain(unit)


def unit_detail(unit: AdministrativeUnit) -> dict:
    """A unit with its parent, successor chain, the unit in force today and its current province."""
    units = UnitResolver()
    province = units.province_of(unit)
    return {"code": unit.code, "name": unit.name, "level": unit.level, "parent_code": unit.parent_code,
            "successor_code": unit.successor_code, "retired_on": unit.retired_on, "note": unit.note,
            "is_retired": unit.is_retired, "parent": _brief(unit.parent),
            "successor_chain": [_brief(u) for u in units.successor_chain(unit)],
            "current": _brief(units.current(unit)),
            "current_province": _brief(province) if province.level == "province" else None}


def _validate(code: str, level: str, values: dict) -> None:
    """Check parent level, successor existence and the absence of successor cycles."""
    parent_code = values.get("parent_code")
    allowed = _PARENT_LEVELS[level]
    if parent_code:
        parent = db.session.get(AdministrativeUnit, parent_code)
        if parent is None or parent.level not in allowed:
            raise invalid("parent_code", f"đơn vị cấp trên phải thuộc cấp: {', '.join(allowed) or 'không có'}",
                          f"the parent must be a {' or '.join(allowed) or 'nothing (provinces have no parent)'}")
    elif level != "province":
        raise invalid("parent_code", "huyện, xã/phường cần đơn vị cấp trên", "districts and communes need a parent")
    successor_code, retired_on = values.get("successor_code"), values.get("retired_on")
    if retired_on and not successor_code:
        raise invalid("successor_code", "đơn vị giải thể cần đơn vị kế thừa", "a retired unit needs a successor")
    if successor_code and not retired_on:
        raise invalid("retired_on", "chỉ đơn vị đã giải thể mới có đơn vị kế thừa",
                      "only a retired unit has a successor; give retired_on")
    if successor_code:
        successor = db.session.get(AdministrativeUnit, successor_code)
        if successor is None:
            raise invalid("successor_code", "đơn vị kế thừa không tồn tại", "unknown successor")
        if successor.code == code or code in {u.code for u in successor_chain(successor)}:
            raise invalid("successor_code", "chuỗi kế thừa bị vòng lặp", "the successor chain would loop")


def _audit_province(unit: AdministrativeUnit) -> str | None:
    province = province_of(unit)
    return province.code if province.level == "province" else None


def create_unit(actor, data: dict) -> AdministrativeUnit:
    """Add a unit (admin). Retired units need a successor. Audited."""
    if db.session.get(AdministrativeUnit, data["code"]) is not None:
        raise Conflict("administrative_unit.exists", "Mã đơn vị hành chính đã tồn tại.",
                       "Administrative unit code already exists.", {"code": data["code"]})
    _validate(data["code"], data["level"], data)
    unit = AdministrativeUnit(code=data["code"], name=nfc(data["name"]), name_folded=fold(data["name"]),
                              level=data["level"], parent_code=data.get("parent_code"),
                              successor_code=data.get("successor_code"), retired_on=data.get("retired_on"),
                              note=data.get("note"))
    db.session.add(unit)
    db.session.flush()
    audit.record("administrative_unit.created", unit, actor=actor, province_code=_audit_province(unit))
    return unit


def update_unit(actor, unit: AdministrativeUnit, data: dict) -> AdministrativeUnit:
    """Rename, re-parent, retire (with a successor) or reinstate a unit (admin). Producers whose
    current province changes follow. Audited."""
    values = {key: data.get(key, getattr(unit, key)) for key in _EDITABLE}
    _validate(unit.code, unit.level, values)
    before = audit.snapshot(unit)
    for key in _EDITABLE:
        if key in data:
            setattr(unit, key, data[key])
    if "name" in data:
        unit.name = nfc(data["name"])
        unit.name_folded = fold(unit.name)
    db.session.flush()
    action = "administrative_unit.retired" if unit.retired_on and not before["retired_on"] \
        else "administrative_unit.updated"
    audit.record(action, unit, actor=actor, before=before, province_code=_audit_province(unit))
    if any(key in data for key in ("parent_code", "successor_code", "retired_on")):
        publish("geo.units_changed", actor=actor)
    return unit


def retired_units() -> list[dict]:
    """The pre-2025 provinces, districts and communes named by certificates (demo data, seed plans), each
    pointing to its successor (``core/geo/data/retired_units.json``)."""
    return json.loads(resources.files("core.geo").joinpath("data/retired_units.json").read_text("utf-8"))


def load_official_structure(progress=None, rows: list[dict] | None = None, chunk: int = 1000,
                            legacy: bool | list[dict] = True) -> dict:
    """Load the 2025 structure (34 provinces, 3,321 communes; ``rows`` defaults to :func:`official_units`), the
    retired pre-2025 units (``legacy``: rows, or True for :func:`legacy_units`, False for none), then the retired units named by the
    demo data and seed plans, all pointing to their successors. Idempotent.
    ``progress(n)`` is called after each chunk of ``n`` units."""
    rows = official_units() if rows is None else rows
    old = legacy if isinstance(legacy, list) else legacy_units() if legacy else []
    retired = retired_units()
    for batch in (rows, old):  # parents and successors come before the units pointing to them
        for start in range(0, len(batch), chunk):
            part = batch[start:start + chunk]
            upsert_units(part)
            if progress:
                progress(len(part))
    upsert_units(retired)
    if progress:
        progress(len(retired))
    publish("geo.units_changed", actor=None)
    return {"provinces": sum(r["level"] == "province" for r in rows),
            "communes": sum(r["level"] == "commune" for r in rows), "legacy": len(old), "retired": len(retired)}


def current_province_count() -> int:
    """How many provinces in force are loaded (34 once the 2025 structure is in; ``ocop geo load --if-empty``)."""
    return db.session.execute(select(func.count()).select_from(AdministrativeUnit).where(
        AdministrativeUnit.level == "province", AdministrativeUnit.retired_on.is_(None))).scalar_one()


def current_provinces(codes) -> dict[str, str]:
    """Batch :func:`province_of`: ``{code: current province code}`` in one query per level walked (no query per unit)."""
    found: dict[str, str] = {}
    frontier = {code: code for code in set(codes) if code}
    for _ in range(8):  # retired commune → successor → parent province: two or three levels in practice
        if not frontier:
            break
        units = {u.code: u for u in db.session.execute(
            select(AdministrativeUnit).where(AdministrativeUnit.code.in_(set(frontier.values())))).scalars()}
        following = {}
        for origin, code in frontier.items():
            unit = units.get(code)
            if unit is None:
                continue
            if unit.successor_code:
                following[origin] = unit.successor_code
            elif unit.level == "province":
                found[origin] = unit.code
            elif unit.parent_code:
                following[origin] = unit.parent_code
        frontier = following
    return found
