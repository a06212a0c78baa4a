"""The web console's forms on the real app and database: a producer creates a product with a variant and an
image, adds variants and images (the catalogue's rules, nothing kept on a refusal); an organiser creates,
activates and previews a campaign and sees the producers' opt-ins; a producer joins and withdraws."""
from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zlib

from sqlalchemy import func, select

from support.console import post
from test_console import as_role, product_id, text, world  # noqa: F401  (world is a fixture)


def tiny_png() -> bytes:
    """A valid 2×2 PNG made here (the catalogue checks the signature and the IHDR chunk)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x2e\x7d\x32" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


NEW_PRODUCT = {"name": "Mật ong rừng Bình Lợi", "group": "food", "description": "Mật ong nguyên chất",
               "status": "active", "variant_sku": "BL-MO-500", "variant_gtin": "", "variant_name": "Chai 500 ml",
               "variant_unit": "chai", "variant_price": "180.000", "image_alt": "Chai mật ong"}


def _count(model) -> int:
    from core.db import db
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# --- products ----------------------------------------------------------------------------------------
def test_producer_creates_a_product_with_a_variant_and_an_image(app, world):
    from core.catalogue.models import Product, ProductImage, Variant
    from core.db import db
    producer = as_role(app.test_client(), "producer")
    form = producer.get("/console/products/new")
    assert form.status_code == 200 and 'name="variant_sku"' in text(form) and 'name="producer_id"' not in text(form)
    r = post(producer, "/console/products/new", {**NEW_PRODUCT, "image": (io.BytesIO(tiny_png()), "mat-ong.png",
                                                                           "image/png")},
             content_type="multipart/form-data")
    assert r.status_code == 302, text(r)
    page = text(producer.get(r.headers["Location"]))
    assert "Đã tạo sản phẩm" in page and "BL-MO-500" in page and 'value="180000"' in page
    product = db.session.execute(select(Product).where(Product.name == NEW_PRODUCT["name"])).scalar_one()
    assert product.producer.name == "HTX Dịch vụ - Nông nghiệp Bình Lợi" and product.status == "active"
    assert [v.price for v in product.variants] == [180000]
    image = db.session.execute(select(ProductImage).where(ProductImage.product_id == product.id)).scalar_one()
    assert image.alt == "Chai mật ong" and image.content_type == "image/png"
    src = re.search(r'<img src="([^"]+)" alt="Chai mật ong"', page).group(1)
    served = app.test_client().get(src)
    assert served.status_code == 200 and served.data == tiny_png()
    assert "Chưa niêm yết" in page  # not certified yet: the reason is shown
    assert db.session.execute(select(Variant.sku).where(Variant.product_id == product.id)).scalars().all() == ["BL-MO-500"]


def test_a_refused_new_product_writes_nothing(app, world):
    from core.catalogue.models import Product, ProductImage
    producer = as_role(app.test_client(), "producer")
    products, images = _count(Product), _count(ProductImage)
    taken = post(producer, "/console/products/new", {**NEW_PRODUCT, "variant_sku": "BL-BDX-1"})  # an existing SKU
    assert taken.status_code == 409 and "Mã SKU đã tồn tại" in text(taken)
    assert f'value="{NEW_PRODUCT["name"]}"' in text(taken)  # the form comes back filled in
    bad_price = post(producer, "/console/products/new", {**NEW_PRODUCT, "variant_price": "abc"})
    assert bad_price.status_code == 422 and 'id="field-errors"' in text(bad_price)
    not_an_image = post(producer, "/console/products/new",
                        {**NEW_PRODUCT, "image": (io.BytesIO(b"GIF89a..."), "x.png", "image/png")},
                        content_type="multipart/form-data")
    assert not_an_image.status_code == 422 and "Nội dung tệp không khớp kiểu ảnh" in text(not_an_image)
    assert (_count(Product), _count(ProductImage)) == (products, images)  # the product was rolled back with it


def test_organiser_creates_for_a_producer_of_its_province_only(app, world):
    from core.catalogue.models import Producer, Product
    from core.db import db
    organiser = as_role(app.test_client(), "organiser")
    form = text(organiser.get("/console/products/new"))
    assert "HTX Dịch vụ - Nông nghiệp Bình Lợi" in form and "Tổ hợp tác trồng cam VietGAP Vũ Quang" not in form
    vu_quang = db.session.execute(select(Producer.id).where(Producer.name.like("%Vũ Quang%"))).scalar_one()
    before = _count(Product)
    r = post(organiser, "/console/products/new", {**NEW_PRODUCT, "producer_id": str(vu_quang)})
    assert r.status_code == 403 and _count(Product) == before


def test_add_a_variant_and_an_image_to_a_product(app, world):
    from core.catalogue import products
    from core.db import db
    pid = product_id("BL-BDX-1")
    producer = as_role(app.test_client(), "producer")
    r = post(producer, f"/console/products/{pid}/variants", {"variant_sku": "BL-BDX-3", "variant_name": "Túi 3 quả",
                                                            "variant_price": "190000", "variant_unit": "túi"})
    assert r.status_code == 302, text(r)
    bad = post(producer, f"/console/products/{pid}/variants", {"variant_sku": "BL-BDX-4", "variant_name": "Lỗi",
                                                              "variant_price": "5", "variant_gtin": "1234567890123"})
    assert bad.status_code == 422 and "mã GTIN không hợp lệ" in text(bad)
    upload = post(producer, f"/console/products/{pid}/images",
                  {"image": (io.BytesIO(tiny_png()), "buoi.png", "image/png"), "image_alt": "Bưởi"},
                  content_type="multipart/form-data")
    assert upload.status_code == 302, text(upload)
    gif = post(producer, f"/console/products/{pid}/images", {"image": (io.BytesIO(b"GIF89a"), "b.gif", "image/gif")},
               content_type="multipart/form-data")
    assert gif.status_code == 415 and "Chỉ nhận ảnh JPEG, PNG hoặc WebP" in text(gif)
    db.session.expire_all()
    product = products.get_product(pid)
    assert "BL-BDX-3" in [v.sku for v in product.variants] and "BL-BDX-4" not in [v.sku for v in product.variants]
    assert [i.alt for i in product.images] == ["Bưởi"]
    other = product_id("SAHS-RNH-500")
    assert post(producer, f"/console/products/{other}/variants", {"variant_sku": "X-1", "variant_name": "x",
                                                                 "variant_price": "1000"}).status_code == 403


# --- campaigns -----------------------------------------------------------------------------------------
def _window(days_ahead: int, days: int) -> dict:
    start = dt.datetime(2026, 11, 23, 8, 0) + dt.timedelta(days=days_ahead)
    return {"starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")}


CAMPAIGN = {"name": "Tết OCOP Đồng Nai", "name_en": "Đồng Nai OCOP Tết", "kind": "percentage", "value": "10",
            "scope_groups": ["food"], "budget": "5.000.000"}


def test_organiser_creates_activates_and_previews_a_campaign(app, world):
    from core.db import db
    from core.pricing.models import Promotion
    organiser = as_role(app.test_client(), "organiser")
    listing = text(organiser.get("/console/campaigns"))
    assert "Tuần lễ OCOP Đồng Nai" in listing  # the demo's running campaign
    r = post(organiser, "/console/campaigns/new", {**CAMPAIGN, **_window(10, 7)})
    assert r.status_code == 302, text(r)
    promotion = db.session.execute(select(Promotion).where(Promotion.name == CAMPAIGN["name"])).scalar_one()
    assert promotion.requires_opt_in and promotion.scope == {"groups": ["food"]} and promotion.budget == 5_000_000
    assert promotion.starts_at == dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.timezone.utc)  # 08:00 Vietnam time
    page = text(organiser.get(r.headers["Location"]))
    assert 'data-lifecycle="draft"' in page and 'id="activate"' in page
    preview = dict(re.findall(r'<tr data-sku="([^"]+)">.*?<td class="price-with">([^<]+)</td>', page, flags=re.S))
    assert preview["BL-BDX-1"] == "58.500 ₫"  # 65.000 ₫ − 10 %
    assert "NTN-DEN-S" not in preview  # crafts are outside the campaign's scope
    activated = post(organiser, f"/console/campaigns/{promotion.id}/activate")
    assert activated.status_code == 302
    assert 'data-lifecycle="scheduled"' in text(organiser.get(activated.headers["Location"]))
    again = post(organiser, f"/console/campaigns/{promotion.id}/activate")
    assert again.status_code == 409 and "Chỉ kích hoạt được khuyến mãi ở trạng thái nháp" in text(again)


def test_a_refused_campaign_writes_nothing(app, world):
    from core.pricing.models import Promotion
    organiser = as_role(app.test_client(), "organiser")
    before = _count(Promotion)
    over = post(organiser, "/console/campaigns/new", {**CAMPAIGN, "value": "150", **_window(1, 3)})
    assert over.status_code == 422 and "phần trăm giảm không được vượt quá 100" in text(over)
    backwards = post(organiser, "/console/campaigns/new", {**CAMPAIGN, **_window(1, -1)})
    assert backwards.status_code == 422
    assert _count(Promotion) == before


def test_producer_joins_and_withdraws_and_the_organiser_sees_the_opt_ins(app, world):
    from core.accounts.models import User
    from core.db import commit, db
    from core.pricing import promotions
    from core.pricing.schemas import PromotionInSchema
    organiser_user = db.session.execute(select(User).where(User.username == "sct.dongnai")).scalar_one()
    data = PromotionInSchema().load({"name": "Hội chợ cuối năm", "name_en": "Year-end fair", "kind": "amount",
                                     "value": 5000, **_window(5, 3)})
    upcoming = promotions.create_promotion(organiser_user, data)
    promotions.activate_promotion(organiser_user, upcoming)
    commit()
    producer = as_role(app.test_client(), "producer")
    mine = text(producer.get("/console/promotions"))
    assert "Tuần lễ OCOP Đồng Nai" in mine and "Hội chợ cuối năm" in mine
    running = re.search(r'<tr data-promotion-id="(\d+)" data-answer="">\s*<td>Tuần lễ OCOP Đồng Nai', mine).group(1)
    assert post(producer, f"/console/promotions/{upcoming.id}/join").status_code == 302
    assert post(producer, f"/console/promotions/{running}/join").status_code == 302
    page = text(producer.get("/console/promotions"))
    assert f'data-promotion-id="{upcoming.id}" data-answer="accepted"' in page
    late = post(producer, f"/console/promotions/{running}/withdraw")  # already running: too late
    assert late.status_code == 409 and "trước khi chương trình bắt đầu" in text(late)
    assert post(producer, f"/console/promotions/{upcoming.id}/withdraw").status_code == 302
    assert f'data-promotion-id="{upcoming.id}" data-answer="withdrawn"' in text(producer.get("/console/promotions"))
    organiser = as_role(app.test_client(), "organiser")
    detail = text(organiser.get(f"/console/campaigns/{upcoming.id}"))
    row = re.search(r'<tr data-producer-id="\d+" data-status="(\w+)"><td>HTX Dịch vụ - Nông nghiệp Bình Lợi', detail)
    assert row.group(1) == "withdrawn"
    running_detail = text(organiser.get(f"/console/campaigns/{running}"))
    assert len(re.findall(r'data-status="accepted"', running_detail)) == 3  # the demo's two, and Bình Lợi
