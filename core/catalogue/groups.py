"""OCOP product groups and sets (Decision 148 structure, older 1048 groups mapped)."""
from __future__ import annotations

import functools
import json
from importlib import resources

from core.errors import invalid


@functools.cache
def _data() -> dict:
    return json.loads(resources.files("core").joinpath("data/ocop_product_groups.json").read_text("utf-8"))


def groups() -> list[dict]:
    """The six groups of Decision 148 with their product sets."""
    return _data()["decision_148"]


def legacy_groups() -> list[dict]:
    """The 1048 (2019) groups with the 148 group each maps to."""
    return _data()["decision_1048"]


@functools.cache
def _index() -> tuple[dict, dict, dict]:
    by_code = {g["code"]: g for g in groups()}
    set_to_group = {s["code"]: g["code"] for g in groups() for s in g["sets"]}
    legacy = {g["code"]: g for g in legacy_groups()}
    return by_code, set_to_group, legacy


def group(code: str) -> dict | None:
    return _index()[0].get(code)


def resolve(group_code: str, product_set_code: str | None) -> tuple[str, str | None]:
    """Validate a group/product-set pair; a 1048 group code is mapped to its 148 group."""
    by_code, set_to_group, legacy = _index()
    if group_code in legacy and group_code not in by_code:
        group_code = legacy[group_code]["maps_to"]
    if group_code not in by_code:
        raise invalid("group", "nhóm sản phẩm OCOP không hợp lệ", "unknown OCOP product group")
    if product_set_code is not None:
        if set_to_group.get(product_set_code) != group_code:
            raise invalid("product_set", "bộ sản phẩm không thuộc nhóm đã chọn",
                          "product set does not belong to the group")
    return group_code, product_set_code


def label(group_code: str) -> dict:
    g = group(group_code) or {"code": group_code, "vi": group_code, "en": group_code}
    return {"code": g["code"], "name": g["vi"], "name_en": g["en"]}
