"""Administrative units: admin API, storefront picker, `ocop geo load` / `ocop geo convert`."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.db import commit, db
from core.geo.models import AdministrativeUnit
from core.audit.models import AuditEvent
from core.catalogue.models import Producer
from core.geo import units as geo
from core.accounts.authentication import create_user
from support.services import need_service


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _run(app, *args):
    from core.cli import cli
    result = CliRunner().invoke(cli, list(args), obj={"app": app, "pm": app.extensions["ocop_plugins"]},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _current(level):
    return db.session.execute(select(func.count()).select_from(AdministrativeUnit).where(
        AdministrativeUnit.level == level, AdministrativeUnit.retired_on.is_(None))).scalar_one()


def test_geo_load_gives_the_2025_structure_and_old_units_resolve(app, client, login):
    output = _run(app, "geo", "load")
    assert "34 provinces, 3321 communes" in output
    db.session.expire_all()
    assert _current("province") == 34
    assert _current("commune") == 3321
    assert _current("district") == 0  # districts were abolished in 2025
    old = geo.get_unit("DNA-VC-BH")
    assert old.is_retired and geo.current_unit(old).code == "26188"
    assert geo.province_of(old).code == "75"
    assert geo.get_unit("26188").name == "Phường Tân Triều"
    # loading again changes nothing
    _run(app, "geo", "load")
    db.session.expire_all()
    assert _current("province") == 34 and _current("commune") == 3321

    # the same through the APIs
    create_user("admin", "ocop-demo-2026", "admin")
    commit()
    detail = client.get("/admin/v1/administrative-units/DNA-VC-BH", headers=login("admin")).get_json()
    assert detail["current"]["code"] == "26188" and detail["current_province"]["code"] == "75"
    picker = client.get("/storefront/v1/administrative-units?level=province").get_json()
    assert picker["total"] == 34 and picker["next"] is None
    communes = client.get("/storefront/v1/administrative-units?parent=75").get_json()
    assert communes["total"] == len([r for r in geo.official_units() if r.get("parent") == "75"])
    assert {"26188", "26170", "26173"} <= {u["code"] for u in communes["results"]}


def test_geo_convert_cli(app):
    output = _run(app, "geo", "convert", "Xã Bình Hòa, Huyện Vĩnh Cửu, Tỉnh Đồng Nai")
    assert "26188" in output and "Tân Triều" in output and "75" in output
    import json
    data = json.loads(_run(app, "geo", "convert", "--json", "Xã Điền Xá, Huyện Nam Trực, Tỉnh Nam Định"))
    assert data["commune_code"] == "13972" and data["province_code"] == "37"


def test_admin_lists_units_with_filters(client, demo, login):
    headers = login("sct.dongnai")  # every role may read
    provinces = client.get("/admin/v1/administrative-units?level=province", headers=headers).get_json()
    assert {u["code"] for u in provinces["results"]} == {"75", "42", "37", "20"}
    with_retired = client.get("/admin/v1/administrative-units?level=province&include_retired=true",
                              headers=headers).get_json()
    assert {"DNA", "NDI"} <= {u["code"] for u in with_retired["results"]}
    folded = client.get("/admin/v1/administrative-units?q=tan trieu", headers=headers).get_json()
    assert [u["code"] for u in folded["results"]] == ["26188"]
    exact = client.get("/admin/v1/administrative-units?q=Tân Triều", headers=headers).get_json()
    assert [u["code"] for u in exact["results"]] == ["26188"]
    children = client.get("/admin/v1/administrative-units?parent=DNA-VC&include_retired=true",
                          headers=headers).get_json()
    assert children["total"] == 6 and all(u["is_retired"] for u in children["results"])
    assert client.get("/admin/v1/administrative-units?parent=DNA-VC", headers=headers).get_json()["total"] == 0


def test_unit_detail_shows_successor_chain_and_current_province(client, demo, login):
    body = client.get("/admin/v1/administrative-units/NDI-NT-DX", headers=login("cs.vi-khe")).get_json()
    assert body["is_retired"] and body["retired_on"] == "2025-07-01"
    assert body["parent"]["code"] == "NDI-NT"
    assert [u["code"] for u in body["successor_chain"]] == ["13972"]
    assert body["current"] == {"code": "13972", "name": "Phường Vị Khê", "level": "commune", "retired_on": None}
    assert body["current_province"]["code"] == "37" and body["current_province"]["name"] == "Ninh Bình"
    current = client.get("/admin/v1/administrative-units/75", headers=login("admin")).get_json()
    assert current["successor_chain"] == [] and current["current"]["code"] == "75"
    _error(client.get("/admin/v1/administrative-units/NOPE", headers=login("admin")), 404,
           "administrative_unit.not_found")


def test_admin_creates_and_retires_units_producers_follow(client, demo, login):
    headers = login("admin")
    created = client.post("/admin/v1/administrative-units", headers=headers, json={
        "code": "26999", "name": "Xã Thử Nghiệm", "level": "commune", "parent_code": "75"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["current_province"]["code"] == "75"
    assert db.session.get(AdministrativeUnit, "26999").name_folded == "xa thu nghiem"

    # Xã Phú Lý (successor of the old Phú Lý commune, home of HTX Bình Minh) is merged into a Hà Tĩnh unit
    producer = db.session.execute(select(Producer).where(Producer.commune_code == "DNA-VC-PL")).scalar_one()
    assert producer.province_code == "75"
    retired = client.patch("/admin/v1/administrative-units/26173", headers=headers,
                           json={"retired_on": "2026-01-01", "successor_code": "18313"})
    assert retired.status_code == 200, retired.get_json()
    assert retired.get_json()["current"]["code"] == "18313"
    db.session.expire_all()
    assert db.session.get(Producer, producer.id).province_code == "42"
    old = client.get("/admin/v1/administrative-units/DNA-VC-PL", headers=headers).get_json()
    assert [u["code"] for u in old["successor_chain"]] == ["26173", "18313"]
    assert old["current_province"]["code"] == "42"
    actions = set(db.session.execute(select(AuditEvent.action).where(
        AuditEvent.actor_username == "admin")).scalars())
    assert {"administrative_unit.created", "administrative_unit.retired", "producer.province_changed"} <= actions

    # reinstate: clear both fields; the producer returns to Đồng Nai
    back = client.patch("/admin/v1/administrative-units/26173", headers=headers,
                        json={"retired_on": None, "successor_code": None, "name": "Xã Phú Lý"})
    assert back.status_code == 200 and back.get_json()["is_retired"] is False
    db.session.expire_all()
    assert db.session.get(Producer, producer.id).province_code == "75"


@pytest.mark.parametrize("payload, status, code, field", [
    ({"code": "X1", "name": "X", "level": "hamlet"}, 422, "validation.invalid", "level"),
    ({"code": "X 1", "name": "X", "level": "province"}, 422, "validation.invalid", "code"),
    ({"code": "X1", "name": "X", "level": "commune"}, 422, "validation.invalid", "parent_code"),
    ({"code": "X1", "name": "X", "level": "commune", "parent_code": "26188"}, 422, "validation.invalid",
     "parent_code"),
    ({"code": "X1", "name": "X", "level": "province", "parent_code": "75"}, 422, "validation.invalid",
     "parent_code"),
    ({"code": "X1", "name": "X", "level": "commune", "parent_code": "75", "retired_on": "2025-07-01"}, 422,
     "validation.invalid", "successor_code"),
    ({"code": "X1", "name": "X", "level": "commune", "parent_code": "75", "successor_code": "26188"}, 422,
     "validation.invalid", "retired_on"),
    ({"code": "X1", "name": "X", "level": "commune", "parent_code": "75", "successor_code": "NOPE",
      "retired_on": "2025-07-01"}, 422, "validation.invalid", "successor_code"),
    ({"code": "X1", "name": "X", "level": "province", "extra": True}, 422, "validation.invalid", "extra"),
    ({"code": "75", "name": "Đồng Nai", "level": "province"}, 409, "administrative_unit.exists", None),
])
def test_create_unit_bad_input(client, demo, login, payload, status, code, field):
    headers = login("admin")
    before = db.session.execute(select(func.count()).select_from(AdministrativeUnit)).scalar_one()
    error = _error(client.post("/admin/v1/administrative-units", headers=headers, json=payload), status, code)
    if field:
        assert field in error["details"]
    assert db.session.execute(select(func.count()).select_from(AdministrativeUnit)).scalar_one() == before


def test_patch_unit_refuses_a_successor_loop(client, demo, login):
    headers = login("admin")
    error = _error(client.patch("/admin/v1/administrative-units/26188", headers=headers,
                                json={"retired_on": "2026-01-01", "successor_code": "DNA-VC-BH"}), 422)
    assert "successor_code" in error["details"]
    _error(client.patch("/admin/v1/administrative-units/26188", headers=headers, json={"code": "X"}), 422)
    _error(client.patch("/admin/v1/administrative-units/NOPE", headers=headers, json={"name": "X"}), 404)
    assert db.session.get(AdministrativeUnit, "26188").retired_on is None


def test_unit_admin_refused_callers(client, demo, login):
    _error(client.get("/admin/v1/administrative-units"), 401, "auth.required")
    _error(client.get("/admin/v1/administrative-units/75"), 401, "auth.required")
    _error(client.post("/admin/v1/administrative-units", json={}), 401, "auth.required")
    for username in ("sct.dongnai", "cs.son-an"):
        headers = login(username)
        _error(client.post("/admin/v1/administrative-units", headers=headers, json={
            "code": "X1", "name": "X", "level": "province"}), 403, "auth.forbidden")
        _error(client.patch("/admin/v1/administrative-units/75", headers=headers, json={"name": "X"}),
               403, "auth.forbidden")
    assert db.session.get(AdministrativeUnit, "75").name == "Đồng Nai"
    assert db.session.get(AdministrativeUnit, "X1") is None


def test_storefront_picker(client, demo):
    provinces = client.get("/storefront/v1/administrative-units?level=province").get_json()
    assert [u["code"] for u in provinces["results"]] == ["20", "37", "42", "75"]
    communes = client.get("/storefront/v1/administrative-units?parent=75&level=commune").get_json()
    assert {u["code"] for u in communes["results"]} == {"26188", "26170", "26173"}
    assert set(communes["results"][0]) == {"code", "name", "level", "parent_code", "successor_code", "retired_on"}
    old = client.get("/storefront/v1/administrative-units?include_retired=true&q=binh hoa").get_json()
    assert [(u["code"], u["successor_code"]) for u in old["results"]] == [("DNA-VC-BH", "26188")]
    paged = client.get("/storefront/v1/administrative-units?limit=2").get_json()
    assert len(paged["results"]) == 2 and paged["next"]


@pytest.mark.parametrize("query, field", [
    ("level=hamlet", "level"), ("limit=501", "limit"), ("token=x", "token"), ("include_retired=maybe", "include_retired"),
])
def test_storefront_picker_bad_input(client, demo, query, field):
    error = _error(client.get(f"/storefront/v1/administrative-units?{query}"), 422, "validation.invalid")
    assert field in error["details"]


def test_one_resolver_follows_successors_and_parents_in_batches(app, demo):
    """core.geo.resolver is the one place that follows units (geo.units and the search documents use it)."""
    from core.geo.resolver import UnitResolver
    units = UnitResolver()
    found = units.get_many(["DNA-VC-BH", "26188", "no-such-unit", None])
    assert set(found) == {"DNA-VC-BH", "26188"}
    old = found["DNA-VC-BH"]  # Bình Hòa, Vĩnh Cửu, Đồng Nai (retired 2025-07-01)
    assert units.current(old).code == "26188" and units.province(old).code == "75"
    assert [u.code for u in units.successor_chain(old)] == ["26188"]
    current, former = units.places(old)
    assert [u.code for u in current] == ["26188", "75"]
    assert [u.code for u in former] == ["DNA-VC-BH", "DNA-VC", "DNA"]
    district = units.get("DNA-VC")  # a retired district's province is today's province
    assert units.province(district).code == "75" and geo.province_of(district).code == "75"
    assert geo.current_unit(old).code == "26188" and geo.province_of(old).code == "75"
    assert units.get("no-such-unit") is None and units.province(None) is None
