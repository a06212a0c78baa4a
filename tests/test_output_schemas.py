"""Response schemas (``core.schemas.OutputSchema``): dicts read key by key, objects and dotted paths as marshmallow
reads them, Vietnam time for datetimes, missing keys left out."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from marshmallow import fields

from core.schemas import OutputSchema


class _Inner(OutputSchema):
    name = fields.String()


class _Answer(OutputSchema):
    number = fields.String()
    total = fields.Integer()
    placed_at = fields.DateTime()
    items = fields.List(fields.Nested(_Inner))
    city = fields.String(attribute="address.city")
    note = fields.String(allow_none=True)


AT = dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.timezone.utc)


def test_a_dict_answer_is_read_by_key_and_keeps_the_schema_order():
    data = {"note": None, "total": 350000, "number": "OCOP-2026-000001", "placed_at": AT,
            "items": [{"name": "Bưởi da xanh"}], "address": {"city": "Biên Hòa"}, "extra": "dropped"}
    out = _Answer().dump(data)
    assert list(out) == ["number", "total", "placed_at", "items", "city", "note"]
    assert out == {"number": "OCOP-2026-000001", "total": 350000, "placed_at": "2026-11-23T19:30:00+07:00",
                   "items": [{"name": "Bưởi da xanh"}], "city": "Biên Hòa", "note": None}


def test_missing_keys_are_left_out_even_when_a_dict_method_has_the_name():
    # marshmallow's general accessor falls back to getattr: a missing "items" key would read dict.items
    assert _Answer().dump({"number": "OCOP-2026-000002"}) == {"number": "OCOP-2026-000002"}


def test_objects_are_read_as_marshmallow_reads_them():
    obj = SimpleNamespace(number="OCOP-2026-000003", total=1, placed_at=AT, items=[SimpleNamespace(name="Cam")],
                          address=SimpleNamespace(city="Vũ Quang"), note="giao giờ hành chính")
    assert _Answer().dump(obj) == {"number": "OCOP-2026-000003", "total": 1, "placed_at": "2026-11-23T19:30:00+07:00",
                                   "items": [{"name": "Cam"}], "city": "Vũ Quang", "note": "giao giờ hành chính"}
