"""Commune browsing on the public site: ``/xa/<code>`` lists the listed products of producers in a current
commune (registered in it or in a pre-2025 commune merged into it), names those former communes, answers a
former code with the current commune; the province page links its communes with listed products."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.catalogue.listing import is_listed
from core.catalogue.models import Producer, Product
from core.db import db

TAN_TRIEU = "26188"  # Phường Tân Triều, Đồng Nai: formed from Bình Hòa, Bình Lợi and Tân Bình (Vĩnh Cửu)


def html(response) -> str:
    return response.get_data(as_text=True)


def product_links(body: str) -> set[str]:
    cards = re.search(r'<ul class="cards">.*?</ul>', body, re.S)
    return set(re.findall(r'href="/san-pham/([^"]+)"', cards.group(0))) if cards else set()


def listed_slugs_of_communes(*codes: str) -> set[str]:
    products = db.session.execute(select(Product).join(Producer, Producer.id == Product.producer_id)
                                  .where(Producer.commune_code.in_(codes))).scalars()
    return {p.slug for p in products if is_listed(p)}


def test_commune_page_lists_exactly_the_listed_products_of_its_producers(client, demo):
    expected = listed_slugs_of_communes("DNA-VC-BH", "DNA-VC-BL", "DNA-VC-TB")
    assert expected and len(expected) >= 3
    response = client.get(f"/xa/{TAN_TRIEU}?sort=name")
    body = html(response)
    assert response.status_code == 200 and len(response.data) < 100_000
    assert product_links(body) == expected
    assert "Phường Tân Triều, Đồng Nai</h1>" in body
    assert f"{len(expected)} sản phẩm" in body
    # the former communes it was formed from, with their former district
    former = re.search(r'<p class="former">(.*?)</p>', body, re.S).group(1)
    for name in ("Bình Hòa (Vĩnh Cửu, Đồng Nai)", "Bình Lợi (Vĩnh Cửu, Đồng Nai)", "Tân Bình (Vĩnh Cửu, Đồng Nai)"):
        assert name in former
    assert "Trị An" not in former
    assert f'<link rel="canonical" href="http://127.0.0.1:5000/xa/{TAN_TRIEU}">' in body
    # another commune of the same province shows only its own
    tri_an = html(client.get("/xa/26170"))
    assert product_links(tri_an) == listed_slugs_of_communes("DNA-VC-TA", "DNA-VC-HL")
    assert not product_links(tri_an) & expected
    assert "Before 1 July 2025 formed from" in html(client.get(f"/xa/{TAN_TRIEU}?lang=en"))


def test_a_former_commune_code_is_answered_with_the_current_commune(client, demo):
    body = html(client.get("/xa/DNA-VC-BL?lang=vi"))
    assert "Phường Tân Triều, Đồng Nai</h1>" in body
    assert "Mã DNA-VC-BL (Bình Lợi) nay thuộc Phường Tân Triều." in body
    assert f'<link rel="canonical" href="http://127.0.0.1:5000/xa/{TAN_TRIEU}">' in body
    assert product_links(body) == product_links(html(client.get(f"/xa/{TAN_TRIEU}")))


def test_unknown_codes_and_other_levels_are_404(client, demo):
    for url in ("/xa/99999", "/xa/75", "/xa/DNA-VC", "/xa/" + "9" * 30):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == "text/html", url


def test_province_page_links_its_communes_with_listed_products_and_counts(client, demo):
    body = html(client.get("/tinh/75"))
    communes = re.search(r'<section id="communes">.*?</section>', body, re.S).group(0)
    counts = {code: int(n) for code, n in re.findall(r'href="/xa/(\d+)">[^<]+ <span class="n">(\d+)</span>', communes)}
    merged = {TAN_TRIEU: ("DNA-VC-BH", "DNA-VC-BL", "DNA-VC-TB"), "26170": ("DNA-VC-TA", "DNA-VC-HL"),
              "26173": ("DNA-VC-PL",)}  # the demo's Vĩnh Cửu communes and the 2025 communes they became
    expected = {code: len(listed_slugs_of_communes(*old)) for code, old in merged.items()}
    assert counts == {code: n for code, n in expected.items() if n}
    assert counts[TAN_TRIEU] >= 3 and "Phường Tân Triều <span" in communes
    for code, n in counts.items():  # every count is what the commune page lists
        assert int(n) == len(product_links(html(client.get(f"/xa/{code}?sort=name")))), code
    assert "/xa/18313" not in communes  # Vũ Quang is in Hà Tĩnh
    assert "/xa/18313" in html(client.get("/tinh/42"))
    sitemap = html(client.get("/sitemap-pages.xml"))
    assert all(f"<loc>http://127.0.0.1:5000/xa/{code}</loc>" in sitemap for code in (*counts, "18313"))
    assert "/xa/DNA-VC-BL" not in sitemap  # only current communes
