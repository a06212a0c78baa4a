"""Administrative units: loading the 2025 structure, retired units and their successors.

Following successors and parents is :class:`core.geo.resolver.UnitResolver`'s
job; the functions here use a fresh resolver for one unit at a time.
"""
from __future__ import annotations

import datetime as dt
import json
import re
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


#: retired pre-2025 units keep their old official codes with this prefix: the 2025 structure reused those codes
#: (01, 001, 00001 …) for other units
LEGACY_PREFIX = "old-"


def _data(name: str) -> dict:
    """One of the vendored unit lists in ``core/geo/data`` (generated from ``vietnamadminunits``, MIT, by
    ``tools/build_geo_units.py``; the package itself is not a dependency: it requires a GPL library)."""
    return json.loads(resources.files("core.geo").joinpath(f"data/{name}").read_text("utf-8"))


def official_units() -> list[dict]:
    """The 34 provinces and 3,321 communes/wards of the 2025 structure, with their official codes."""
    data = _data("units_2025.json")
    rows = [{"code": code, "name": name, "level": "province"} for code, name in data["provinces"]]
    rows += [{"code": code, "name": name, "level": "commune", "parent": province}
             for code, name, _short, province in data["communes"]]
    return rows


def legacy_units() -> list[dict]:
    """The 63 provinces, 696 districts and 10,035 communes in force before 1 July 2025, retired that day, each
    pointing to its 2025 successor (a commune split between several: the official converter's default one).
    Codes are the old official codes prefixed with :data:`LEGACY_PREFIX`; parents come before children."""
    data = _data("units_legacy.json")
    retired = data["retired_on"]
    rows = [{"code": code, "name": name, "level": "province", "successor": successor, "retired_on": retired}
            for code, name, successor in data["provinces"]]
    rows += [{"code": code, "name": name, "level": "district", "parent": parent, "successor": successor,
              "retired_on": retired} for code, name, _short, parent, successor, _also in data["districts"]]
    rows += [{"code": code, "name": name, "level": "commune", "parent": parent, "successor": successor,
              "retired_on": retired} for code, name, _short, parent, successor, _also in data["communes"]]
    return rows


_PREFIXES = re.compile(r"^(tinh|thanh pho|tp\.?|huyen|quan|thi xa|tx\.?|xa|phuong|thi tran|tt\.?|dac khu)\s+")


def _key(name: str) -> str:
    """A place name without diacritics, case, punctuation or its kind ("Tỉnh", "Huyện", "Xã" …)."""
    folded = " ".join(fold(nfc(name)).replace(".", ". ").split())
    return re.sub(r"[^a-z0-9]", "", _PREFIXES.sub("", folded))


class _Places:
    """The vendored lists indexed by folded names, built once per process for :func:`convert_old_address`."""

    def __init__(self):
        current, legacy = _data("units_2025.json"), _data("units_legacy.json")
        self.province_name = dict(current["provinces"])
        self.communes = {code: (name, province) for code, name, _short, province in current["communes"]}
        self.new_wards = {(province, _key(short)): code for code, _name, short, province in current["communes"]}
        self.new_provinces = {_key(name): code for code, name in current["provinces"]}
        self.old_provinces = {_key(name): (code, successor) for code, name, successor in legacy["provinces"]}
        self.old_districts, self.old_wards = {}, {}
        for code, _name, short, parent, successor, also in legacy["districts"]:
            for key in (*also, _key(short)):  # former names first: the unit's own name wins a clash
                self.old_districts[(parent, key)] = (code, successor)
        for _code, _name, short, parent, successor, also in legacy["communes"]:
            for key in also:  # names of communes merged into this one before 2025 ("Bình Hòa" → Tân Bình)
                self.old_wards.setdefault((parent, key), successor)
        for _code, _name, short, parent, successor, _also in legacy["communes"]:
            self.old_wards[(parent, _key(short))] = successor


_places: _Places | None = None


def convert_old_address(address: str) -> dict | None:
    """Convert a pre-2025 address ("Xã Bình Hòa, Huyện Vĩnh Cửu, Tỉnh Đồng Nai", the street optional in front)
    to the commune and province in force; a 2025 address ("Phường Tân Triều, Đồng Nai") is recognised too."""
    global _places
    _places = _places or _Places()
    parts = [_key(part) for part in (address or "").split(",") if part.strip()]
    commune = None
    if len(parts) >= 3 and parts[-1] in _places.old_provinces:
        old_province, _ = _places.old_provinces[parts[-1]]
        district = _places.old_districts.get((old_province, parts[-2]))
        if district:
            commune = _places.old_wards.get((district[0], parts[-3]))
    if commune is None and len(parts) >= 2 and parts[-1] in _places.new_provinces:
        commune = _places.new_wards.get((_places.new_provinces[parts[-1]], parts[-2]))
    if commune is None or commune not in _places.communes:
        return None
    name, province = _places.communes[commune]
    return {"province_code": province, "commune_code": commune, "province": _places.province_name[province],
            "commune": name}


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


def former_units(unit: AdministrativeUnit) -> list[dict]:
    """What a current unit was formed from: each retired unit merged into it, with the units it belonged to
    (``{"code", "name", "level", "within": [district, province names]}``), by name."""
    units = UnitResolver()
    former = []
    for old in units.predecessors(unit.code):
        former.append({"code": old.code, "name": old.name, "level": old.level,
                       "within": [u.name for u in units.lineage(old)[1:]]})
    return sorted(former, key=lambda u: (fold(u["name"]), u["code"]))


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
