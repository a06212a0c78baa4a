"""The one place that follows administrative units: successors (retired → in force) and parents.

:class:`UnitResolver` caches the units it has read, so a batch (a search
rebuild, an import) resolves thousands of communes with few queries; the
functions of :mod:`core.geo.units` use a fresh resolver for single lookups.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select

from core.db import db
from core.geo.models import AdministrativeUnit


class UnitResolver:
    """Administrative units by code, cached for the resolver's life (which may outlast the session's objects)."""

    def __init__(self, preload: bool = False) -> None:
        self._units: dict[str, AdministrativeUnit | None] = {}
        if preload:
            for unit in db.session.execute(select(AdministrativeUnit)).scalars():
                self._units[unit.code] = unit

    def get(self, code: str | None) -> AdministrativeUnit | None:
        """The unit with ``code`` (None for None or unknown codes)."""
        if not code:
            return None
        if code not in self._units:
            self._units[code] = db.session.get(AdministrativeUnit, code)
        return self._units[code]

    def get_many(self, codes: Iterable[str | None]) -> dict[str, AdministrativeUnit]:
        """The known units among ``codes``, reading the missing ones in one query per 500 codes."""
        wanted = {c for c in codes if c}
        missing = sorted(c for c in wanted if c not in self._units)
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            found = {u.code: u for u in db.session.execute(
                select(AdministrativeUnit).where(AdministrativeUnit.code.in_(chunk))).scalars()}
            for code in chunk:
                self._units[code] = found.get(code)
        return {c: self._units[c] for c in wanted if self._units.get(c) is not None}

    def successor_chain(self, unit: AdministrativeUnit) -> list[AdministrativeUnit]:
        """The units a retired unit was merged into, in order, ending with the unit in force (empty if current)."""
        chain, seen = [], {unit.code}
        while unit.successor_code and unit.successor_code not in seen:
            successor = self.get(unit.successor_code)
            if successor is None:
                break
            unit = successor
            seen.add(unit.code)
            chain.append(unit)
        return chain

    def predecessors(self, code: str) -> list[AdministrativeUnit]:
        """The retired units merged into ``code``, directly or through other retired units (one query per
        step back), in code order: the former communes of a 2025 commune."""
        found: dict[str, AdministrativeUnit] = {}
        frontier = {code}
        while frontier:
            rows = db.session.execute(select(AdministrativeUnit).where(
                AdministrativeUnit.successor_code.in_(sorted(frontier)))).scalars().all()
            frontier = set()
            for unit in rows:
                if unit.code not in found and unit.code != code:
                    found[unit.code] = self._units[unit.code] = unit
                    frontier.add(unit.code)
        return sorted(found.values(), key=lambda u: u.code)

    def current(self, unit: AdministrativeUnit | None) -> AdministrativeUnit | None:
        """Follow successor links from a retired unit to the unit in force today."""
        if unit is None:
            return None
        chain = self.successor_chain(unit)
        return chain[-1] if chain else unit

    def lineage(self, unit: AdministrativeUnit | None) -> list[AdministrativeUnit]:
        """The unit and its ancestors as named on the certificate (commune, district, province)."""
        chain, seen = [], set()
        while unit is not None and unit.code not in seen:
            seen.add(unit.code)
            chain.append(unit)
            unit = self.get(unit.parent_code)
        return chain

    def province_of(self, unit: AdministrativeUnit) -> AdministrativeUnit:
        """The *current* top unit of ``unit`` (through successors and parents): its province for any real unit."""
        unit, seen = self.current(unit), set()
        while unit.level != "province" and unit.parent_code and unit.code not in seen:
            seen.add(unit.code)
            parent = self.get(unit.parent_code)
            if parent is None:
                break
            unit = self.current(parent)
        return unit

    def province(self, unit: AdministrativeUnit | None) -> AdministrativeUnit | None:
        """The current province of ``unit``, or None (no unit, or none above it)."""
        if unit is None:
            return None
        top = self.province_of(unit)
        return top if top.level == "province" else None

    def places(self, unit: AdministrativeUnit | None) -> tuple[list, list]:
        """(current chain, former chain) of a commune, e.g. ([Phường Tân Triều, Đồng Nai], [Bình Hòa, Vĩnh Cửu, Đồng Nai])."""
        if unit is None:
            return [], []
        former = self.lineage(unit) if unit.is_retired else []
        return self.lineage(self.current(unit)), former
