"""Vietnamese shipping addresses and phone numbers of checkouts and orders: current units only, retired ones
followed to their successors."""
from __future__ import annotations

import re
from dataclasses import dataclass


from core.db import db
from core.errors import DomainError, invalid
from core.geo.models import AdministrativeUnit
from core.sales.models import CheckoutLine
from core.catalogue.models import Producer, Product, Variant
from core.geo.units import province_of

MAX_QUANTITY = 99
MAX_LINES = 50
PHONE_RE = re.compile(r"^(?:\+84|0)(?:3|5|7|8|9|2\d)\d{8}$")


@dataclass
class Row:
    """One checkout line with its variant, product, producer and whether the product is listed today."""

    line: CheckoutLine
    variant: Variant
    product: Product
    producer: Producer
    listed: bool
    free: int | None = None  # largest free quantity at one active location, when read with the line


def _unit(code: str | None, level: str, field: str) -> AdministrativeUnit | None:
    if code in (None, ""):
        return None
    unit = db.session.get(AdministrativeUnit, code)
    if unit is None or unit.level != level:
        vi = {"province": "tỉnh/thành phố", "district": "quận/huyện", "commune": "xã/phường"}[level]
        raise invalid(field, f"mã {vi} không tồn tại", f"unknown {level} code", code="address.unknown_unit")
    return unit


def validate_address(data: dict) -> dict:
    """Check a Vietnamese address against the administrative units; return it with the resolved current codes.

    Raises 422 ``address.unknown_unit`` for unknown codes and
    ``address.commune_not_in_province`` / ``address.commune_not_in_district``
    when the commune lies elsewhere.
    """
    province = _unit(data.get("province_code"), "province", "province_code")
    commune = _unit(data.get("commune_code"), "commune", "commune_code")
    if province is None:
        raise invalid("province_code", "thiếu tỉnh/thành phố", "province_code is required")
    if commune is None:
        raise invalid("commune_code", "thiếu xã/phường", "commune_code is required")
    district = _unit(data.get("district_code"), "district", "district_code")
    current_province = province_of(province)
    if province_of(commune).code != current_province.code:
        raise DomainError("address.commune_not_in_province", "Xã/phường không thuộc tỉnh/thành phố đã chọn.",
                          "The commune is not in the chosen province.",
                          {"province_code": province.code, "commune_code": commune.code}, status=422)
    if district is not None:
        if province_of(district).code != current_province.code or commune.parent_code != district.code:
            raise DomainError("address.commune_not_in_district", "Xã/phường không thuộc quận/huyện đã chọn.",
                              "The commune is not in the chosen district.",
                              {"district_code": district.code, "commune_code": commune.code}, status=422)
    street = (data.get("street") or "").strip()
    if not street:
        raise invalid("street", "thiếu số nhà, tên đường", "street is required")
    return {"province_code": province.code, "district_code": district.code if district else None,
            "commune_code": commune.code, "street": street, "current_province_code": current_province.code}


def normalise_phone(value: str | None) -> str | None:
    """Vietnamese phone numbers: digits only, ``+84`` or ``0`` prefix (``0912 345 678`` → ``0912345678``)."""
    if value in (None, ""):
        return None
    compact = re.sub(r"[\s.\-()]", "", value)
    if not PHONE_RE.match(compact):
        raise invalid("phone", "số điện thoại không hợp lệ", "invalid Vietnamese phone number",
                      code="checkout.invalid_phone")
    return compact
