"""In Chromium, a product photo's ``srcset``/``sizes`` make the browser fetch the thumbnail that fits the
screen: the 480 px one on a desktop, the 960 px one on a phone with a 2× screen (never the 1,200 px upload)."""
from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from support.browser import screenshot

POMELO = "Bưởi da xanh Bình Lợi"


def _upload(client, login) -> str:
    from core.catalogue.models import Product
    from core.db import db
    product_id = db.session.execute(select(Product.id).where(Product.name == POMELO)).scalar_one()
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (40, 140, 60)).save(out, "JPEG")
    response = client.post(f"/admin/v1/products/{product_id}/images", headers=login("cs.htx-binh-loi"),
                           data={"file": (io.BytesIO(out.getvalue()), "buoi.jpg", "image/jpeg")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    db.session.commit()
    return response.get_json()["storage_key"].rsplit(".", 1)[0]


def _photo(page, url: str) -> str:
    page.goto(url)
    page.wait_for_function("document.querySelector('.photos img').complete")
    return page.evaluate("document.querySelector('.photos img').currentSrc")


def test_the_browser_fetches_the_thumbnail_that_fits_the_screen(live_server, browser, client, demo, login):
    stem = _upload(client, login)
    url = f"{live_server}/san-pham/buoi-da-xanh-binh-loi"
    for viewport, scale, width in (({"width": 1280, "height": 900}, 1, 480), ({"width": 390, "height": 844}, 2, 960)):
        context = browser.new_context(locale="vi-VN", viewport=viewport, device_scale_factor=scale)
        try:
            page = context.new_page()
            assert _photo(page, url) == f"{live_server}/media/{stem}.w{width}.webp"
            screenshot(page, f"site-product-photo-{viewport['width']}")
        finally:
            context.close()
