#!/usr/bin/env python3
"""Regenerate ``core/geo/data/units_2025.json`` and ``units_legacy.json`` from ``vietnamadminunits`` (MIT).

The package's own database ships all 3,321 communes of the 2025 structure with official codes and the
10,035 pre-2025 communes; its converter says which 2025 commune each old one became. ocop-commerce keeps
those facts as data (MIT notice in ``core/geo/data/LICENSE-vietnamadminunits.txt``) instead of depending on
the package, which requires ``unidecode`` (GPL-2.0-or-later).

    pip install vietnamadminunits==1.0.4 && python3 tools/build_geo_units.py
"""
from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

from vietnamadminunits.converter import converter_2025
from vietnamadminunits.database import query

OUT = Path(__file__).resolve().parents[1] / "core" / "geo" / "data"
PREFIX = "old-"  # the old official codes were reused by the 2025 structure for other units


def _keywords(raw: str | None) -> list[str]:
    """The other names a unit was known by (folded, e.g. "binhhoa" for a commune merged into this one)."""
    return sorted(set(json.loads(raw))) if raw else []


def main() -> None:
    version = metadata.version("vietnamadminunits")
    source = f"vietnamadminunits {version} (MIT, Tran Ngoc Minh Hieu)"
    provinces = query("SELECT DISTINCT provinceCode, provinceShort FROM admin_units ORDER BY provinceCode")
    wards = query("SELECT wardCode, ward, wardShort, provinceCode, provinceKey, wardKey FROM admin_units "
                  "ORDER BY wardCode")
    current = {"source": source, "provinces": [[p["provinceCode"], p["provinceShort"]] for p in provinces],
               "communes": [[w["wardCode"], w["ward"], w["wardShort"], w["provinceCode"]] for w in wards]}
    new_codes = {(w["provinceKey"], w["wardKey"]): w["wardCode"] for w in wards}
    province_code = {w["provinceKey"]: w["provinceCode"] for w in wards}
    new_province_of_old, successor_of = {}, {}
    for new_province, old_provinces in converter_2025.DICT_PROVINCE.items():
        for old in old_provinces:
            new_province_of_old[old] = new_province
        for ward_key, old_keys in converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED.get(new_province, {}).items():
            for old_key in old_keys:
                if (new_province, ward_key) in new_codes:
                    successor_of.setdefault(old_key, new_codes[(new_province, ward_key)])
        for old_key, options in converter_2025.DICT_PROVINCE_WARD_DIVIDED.get(new_province, {}).items():
            default = next((o["newWardKey"] for o in options if o["isDefaultNewWard"]), None)
            if (new_province, default) in new_codes:
                successor_of.setdefault(old_key, new_codes[(new_province, default)])
    rows = query("SELECT provinceCode, provinceShort, provinceKey, districtCode, district, districtShort, "
                 "districtKey, districtKeywords, wardCode, ward, wardShort, wardKey, wardKeywords FROM admin_units_legacy "
                 "ORDER BY wardCode")
    old_provinces, districts, communes = {}, {}, {}
    for r in rows:
        province, district = PREFIX + r["provinceCode"], PREFIX + r["districtCode"]
        new_province = province_code[new_province_of_old[r["provinceKey"]]]
        old_provinces.setdefault(province, [province, r["provinceShort"], new_province])
        island = successor_of.get(f"{r['provinceKey']}_{r['districtKey']}_")  # districts that became đặc khu
        districts.setdefault(district, [district, r["district"], r["districtShort"], province, island or new_province,
                                        _keywords(r["districtKeywords"])])
        if r["wardCode"]:
            key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}"
            communes.setdefault(PREFIX + r["wardCode"], [PREFIX + r["wardCode"], r["ward"], r["wardShort"], district,
                                                         successor_of.get(key) or new_province,
                                                         _keywords(r["wardKeywords"])])
    legacy = {"source": source, "retired_on": "2025-07-01", "provinces": list(old_provinces.values()),
              "districts": list(districts.values()), "communes": list(communes.values())}
    for name, data in (("units_2025.json", current), ("units_legacy.json", legacy)):
        (OUT / name).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    licence = next(f for f in metadata.distribution("vietnamadminunits").files if f.name == "LICENSE")
    shutil.copyfile(licence.locate(), OUT / "LICENSE-vietnamadminunits.txt")
    print(f"{len(current['provinces'])} provinces, {len(current['communes'])} communes; legacy "
          f"{len(old_provinces)} provinces, {len(districts)} districts, {len(communes)} communes")


if __name__ == "__main__":
    main()
