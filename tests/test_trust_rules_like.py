"""LIKE wildcards typed by a user are taken literally in every text filter (``%`` is not 'everything')."""
from __future__ import annotations

from core.text import contains_text, escape_like
from support.sales_points import BASE, receive, setup_points


def test_escape_like():
    assert escape_like("50%_off\\") == "50\\%\\_off\\\\"
    assert str(contains_text.__doc__)


def _total(client, url, headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_user_search_takes_wildcards_literally(client, demo, login):
    admin = login("admin")
    everyone = _total(client, "/admin/v1/users?limit=100", admin)["total"]
    assert everyone > 3
    for q in ("%", "_", "%25", "a%n", "_dmin"):
        assert _total(client, f"/admin/v1/users?q={q}&limit=100", admin)["total"] == 0, q
    assert [u["username"] for u in _total(client, "/admin/v1/users?q=admi", admin)["results"]] == ["admin"]


def test_sales_point_searches_take_wildcards_literally(client, demo, login):
    points = setup_points(client, login)
    assert _total(client, f"{BASE}?q=OCOP", points.organiser)["total"] == 2
    for q in ("%", "_", "%25"):
        assert _total(client, f"{BASE}?q={q}", points.organiser)["total"] == 0, q
    assert receive(points, points.a, points.op_a, "BL-BDX-1",
                   [{"sku": "BL-BDX-1", "quantity": 3, "lot_no": "L1", "best_before": "2027-01-15"}]).status_code == 201
    stock = client.get(f"{BASE}/{points.a}/stock?q=BL-BDX", headers=points.op_a).get_json()
    found = stock["results"] if isinstance(stock, dict) and "results" in stock else stock
    assert found
    for q in ("%", "_"):
        stock = client.get(f"{BASE}/{points.a}/stock?q={q}", headers=points.op_a).get_json()
        assert (stock["results"] if isinstance(stock, dict) and "results" in stock else stock) == [], q
