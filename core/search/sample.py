"""A synthetic national OCOP catalogue for search benchmarks and relevance tests (fixed random seed).

Names are built from real OCOP product words (bưởi, mật ong, rượu nếp, nước
mắm, chè, nón lá, lụa tơ tằm, du lịch cộng đồng…), producers follow the
national mix (cooperatives 33%, enterprises 25%, households 34%, cooperative
groups 8%), and communes come from ``core/data/search_sample_places.json``:
pre-2025 communes (6 per old province) with the 2025 unit each became, so
documents carry current and former place names. Stars follow the mid-2025
split (76% 3-star, 23% 4-star, ~1% 5-star); a few products are expired or
drafts and must never be found. Rows are bulk-inserted (no services, no
outbox): run a reindex afterwards.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from importlib import resources

from sqlalchemy import bindparam, func, insert, select

from core import clock
from core.db import db, utcnow
from core.text import fold, slugify
from core.inventory.models import Stock, StockLocation, StockLot, StockMovement
from core.catalogue.models import Producer, Product, Variant
from core.certification.models import Certification
from core.geo.models import AdministrativeUnit

# (kind, group, product set, price range in thousand VND, units, is_service, description words)
KINDS = [
    ("Bưởi da xanh", "food", "fresh_produce", (50, 160), ["Trái 1,2–1,5 kg", "Hộp quà 2 trái"], False, "vỏ mỏng, tép mọng nước"),
    ("Bưởi Diễn", "food", "fresh_produce", (40, 120), ["Trái 1 kg", "Hộp quà 2 trái"], False, "ngọt thanh, để lâu"),
    ("Bưởi Năm Roi", "food", "fresh_produce", (40, 110), ["Trái 1,2 kg"], False, "không hạt, ráo tép"),
    ("Cam sành", "food", "fresh_produce", (30, 90), ["Túi 2 kg", "Thùng 5 kg"], False, "mọng nước, vị ngọt đậm"),
    ("Cam bù", "food", "fresh_produce", (35, 100), ["Túi 2 kg", "Thùng 5 kg"], False, "trồng theo tiêu chuẩn VietGAP"),
    ("Quýt hồng", "food", "fresh_produce", (40, 120), ["Túi 1 kg", "Hộp 3 kg"], False, "màu đỏ cam, thơm"),
    ("Vải thiều", "food", "fresh_produce", (40, 90), ["Hộp 2 kg"], False, "cùi dày, hạt nhỏ"),
    ("Nhãn lồng", "food", "fresh_produce", (40, 100), ["Hộp 2 kg"], False, "cùi giòn, ngọt sắc"),
    ("Xoài cát Hòa Lộc", "food", "fresh_produce", (60, 150), ["Hộp 2 kg"], False, "thơm, thịt mịn"),
    ("Sầu riêng Ri6", "food", "fresh_produce", (120, 350), ["Trái 2–3 kg"], False, "cơm vàng, ráo"),
    ("Thanh long ruột đỏ", "food", "fresh_produce", (30, 80), ["Hộp 3 kg"], False, "ngọt mát"),
    ("Dưa lưới", "food", "fresh_produce", (50, 120), ["Trái 1,5 kg"], False, "trồng nhà màng"),
    ("Mật ong hoa nhãn", "food", "honey_other_agrifood", (120, 350), ["Chai 500 ml", "Chai 1 lít"], False, "mật nguyên chất, sánh thơm"),
    ("Mật ong rừng", "food", "honey_other_agrifood", (200, 600), ["Chai 500 ml"], False, "khai thác tự nhiên"),
    ("Mật ong bạc hà", "food", "honey_other_agrifood", (250, 600), ["Chai 500 ml"], False, "đặc sản cao nguyên đá"),
    ("Gạo ST25", "food", "rice_grains", (30, 60), ["Túi 5 kg", "Túi 2 kg"], False, "hạt dài, dẻo thơm"),
    ("Gạo nếp cái hoa vàng", "food", "rice_grains", (35, 70), ["Túi 2 kg"], False, "dẻo, thơm, dùng gói bánh"),
    ("Gạo lứt đỏ", "food", "rice_grains", (40, 80), ["Túi 2 kg"], False, "giàu chất xơ"),
    ("Bánh tét lá cẩm", "food", "processed_rice_grains", (80, 160), ["Đòn 1 kg"], False, "nếp dẻo, nhân đậu xanh"),
    ("Bánh chưng", "food", "processed_rice_grains", (60, 140), ["Chiếc 1 kg"], False, "gói lá dong"),
    ("Bánh đa nem", "food", "processed_rice_grains", (20, 60), ["Túi 500 g"], False, "mỏng, giòn"),
    ("Bún khô", "food", "processed_rice_grains", (25, 60), ["Túi 500 g"], False, "sợi dai"),
    ("Miến dong", "food", "processed_rice_grains", (40, 90), ["Túi 500 g"], False, "làm từ củ dong riềng"),
    ("Bánh pía", "food", "processed_rice_grains", (60, 150), ["Hộp 4 cái"], False, "nhân sầu riêng trứng muối"),
    ("Kẹo dừa", "food", "processed_fruit_veg_nuts", (30, 80), ["Hộp 400 g"], False, "béo ngậy"),
    ("Kẹo mè xửng", "food", "processed_fruit_veg_nuts", (30, 70), ["Hộp 300 g"], False, "dẻo, thơm mè rang"),
    ("Mứt me", "food", "processed_fruit_veg_nuts", (30, 70), ["Hộp 300 g"], False, "chua ngọt"),
    ("Mứt gừng", "food", "processed_fruit_veg_nuts", (40, 90), ["Hộp 300 g"], False, "cay ấm"),
    ("Hạt điều rang muối", "food", "processed_fruit_veg_nuts", (150, 350), ["Hũ 500 g"], False, "giòn, béo"),
    ("Xoài sấy dẻo", "food", "processed_fruit_veg_nuts", (60, 140), ["Túi 250 g"], False, "không đường"),
    ("Nước mắm cá cơm", "food", "sauces_fish_sauce_liquid_seasonings", (60, 250), ["Chai 500 ml", "Can 2 lít"], False, "ủ chượp truyền thống 12 tháng"),
    ("Nước mắm nhĩ", "food", "sauces_fish_sauce_liquid_seasonings", (90, 300), ["Chai 500 ml"], False, "độ đạm cao"),
    ("Tương ớt", "food", "sauces_fish_sauce_liquid_seasonings", (20, 60), ["Chai 250 ml"], False, "cay nồng"),
    ("Tiêu đen", "food", "other_seasonings", (80, 250), ["Hũ 250 g", "Túi 500 g"], False, "hạt chắc, cay thơm"),
    ("Muối tôm", "food", "other_seasonings", (30, 80), ["Hũ 200 g"], False, "cay mặn"),
    ("Chè Shan tuyết", "food", "tea", (150, 600), ["Hộp 200 g"], False, "búp non từ cây cổ thụ"),
    ("Chè Thái Nguyên", "food", "tea", (150, 500), ["Hộp 200 g"], False, "nước xanh, hậu ngọt"),
    ("Trà atiso", "food", "other_plant_teas", (60, 160), ["Hộp 20 túi lọc"], False, "thanh nhiệt"),
    ("Trà hoa vàng", "food", "other_plant_teas", (300, 900), ["Hộp 50 g"], False, "quý hiếm"),
    ("Cà phê Robusta rang xay", "food", "coffee_cocoa", (90, 250), ["Túi 500 g"], False, "rang mộc"),
    ("Cà phê Arabica", "food", "coffee_cocoa", (150, 400), ["Túi 500 g"], False, "hương trái cây"),
    ("Ca cao nguyên chất", "food", "coffee_cocoa", (120, 300), ["Hộp 250 g"], False, "lên men tự nhiên"),
    ("Giò lụa", "food", "processed_meat_eggs_milk_seafood_honey", (150, 260), ["Cây 1 kg"], False, "giã tay"),
    ("Nem chua", "food", "processed_meat_eggs_milk_seafood_honey", (60, 150), ["Chục 10 cái"], False, "chua dịu"),
    ("Lạp xưởng", "food", "processed_meat_eggs_milk_seafood_honey", (150, 300), ["Túi 500 g"], False, "thịt nạc, mỡ giòn"),
    ("Khô cá lóc", "food", "processed_meat_eggs_milk_seafood_honey", (200, 450), ["Túi 500 g"], False, "phơi nắng"),
    ("Tôm khô", "food", "processed_meat_eggs_milk_seafood_honey", (300, 900), ["Túi 500 g"], False, "đỏ tự nhiên"),
    ("Chả cá", "food", "processed_meat_eggs_milk_seafood_honey", (150, 280), ["Túi 500 g"], False, "cá thu tươi"),
    ("Rượu nếp cái hoa vàng", "beverages", "white_liquor", (90, 300), ["Chai 500 ml", "Bình 2 lít"], False, "chưng cất thủ công"),
    ("Rượu làng Vân", "beverages", "white_liquor", (150, 400), ["Chai 500 ml"], False, "men lá truyền thống"),
    ("Rượu ngô men lá", "beverages", "white_liquor", (80, 250), ["Chai 500 ml", "Can 2 lít"], False, "nấu từ ngô vùng cao"),
    ("Rượu Bàu Đá", "beverages", "white_liquor", (120, 350), ["Chai 500 ml"], False, "nước giếng đá ong"),
    ("Rượu đế", "beverages", "white_liquor", (60, 200), ["Chai 500 ml"], False, "nồng, êm"),
    ("Rượu sim", "beverages", "other_alcoholic", (90, 300), ["Chai 500 ml"], False, "ngâm quả sim chín"),
    ("Rượu chuối hột", "beverages", "other_alcoholic", (90, 250), ["Chai 500 ml"], False, "ngâm chuối hột rừng"),
    ("Rượu cần", "beverages", "other_alcoholic", (120, 300), ["Ché 2 lít"], False, "ủ men lá của đồng bào"),
    ("Rượu mơ", "beverages", "other_alcoholic", (120, 300), ["Chai 500 ml"], False, "mơ lông"),
    ("Rượu mắc khén", "beverages", "other_alcoholic", (100, 280), ["Chai 500 ml"], False, "hương gia vị núi rừng"),
    ("Nước cốt chanh dây", "beverages", "other_non_alcoholic", (50, 120), ["Chai 500 ml"], False, "không chất bảo quản"),
    ("Nước mía", "beverages", "other_non_alcoholic", (20, 50), ["Chai 330 ml"], False, "ép lạnh"),
    ("Nước khoáng", "beverages", "mineral_bottled_water", (10, 40), ["Thùng 24 chai"], False, "từ nguồn khoáng tự nhiên"),
    ("Tinh dầu sả chanh", "medicinal_herbs", "essential_oils_other_herbs", (60, 200), ["Lọ 10 ml", "Lọ 50 ml"], False, "chưng cất hơi nước"),
    ("Tinh dầu bưởi", "medicinal_herbs", "essential_oils_other_herbs", (55, 190), ["Lọ 10 ml", "Lọ 50 ml"], False, "chưng cất từ vỏ bưởi"),
    ("Tinh dầu quế", "medicinal_herbs", "essential_oils_other_herbs", (70, 220), ["Lọ 10 ml"], False, "quế rừng"),
    ("Cao actiso", "medicinal_herbs", "functional_food_herbal_medicine", (150, 400), ["Hũ 200 g"], False, "mát gan"),
    ("Đông trùng hạ thảo", "medicinal_herbs", "functional_food_herbal_medicine", (500, 2500), ["Hộp 10 g"], False, "nuôi cấy"),
    ("Sâm Ngọc Linh", "medicinal_herbs", "functional_food_herbal_medicine", (1500, 9000), ["Củ 100 g"], False, "sâm quý"),
    ("Cao gắm", "medicinal_herbs", "functional_food_herbal_medicine", (200, 500), ["Hũ 100 g"], False, "dược liệu vùng cao"),
    ("Dầu gội bồ kết", "medicinal_herbs", "herbal_cosmetics", (80, 200), ["Chai 300 ml"], False, "thảo mộc"),
    ("Xà bông thảo dược", "medicinal_herbs", "herbal_cosmetics", (40, 120), ["Bánh 100 g"], False, "làm thủ công"),
    ("Đèn gỗ trang trí", "handicrafts", "household_decorative_crafts", (250, 900), ["Cỡ nhỏ", "Cỡ lớn"], False, "gỗ tự nhiên"),
    ("Đèn lồng", "handicrafts", "household_decorative_crafts", (80, 300), ["Cái"], False, "khung tre bọc lụa"),
    ("Nón lá", "handicrafts", "household_decorative_crafts", (60, 200), ["Chiếc"], False, "lá non phơi sương"),
    ("Chiếu cói", "handicrafts", "household_decorative_crafts", (150, 500), ["Đôi 1,6 m"], False, "dệt tay"),
    ("Giỏ mây tre đan", "handicrafts", "household_decorative_crafts", (60, 250), ["Bộ 3 chiếc"], False, "mây tre tự nhiên"),
    ("Gốm men lam", "handicrafts", "household_decorative_crafts", (150, 1200), ["Bộ ấm chén"], False, "nung lò củi"),
    ("Tranh sơn mài", "handicrafts", "household_decorative_crafts", (500, 5000), ["40×60 cm"], False, "vẽ tay"),
    ("Lụa tơ tằm", "handicrafts", "fabrics_garments", (300, 1500), ["Khăn 50×180 cm", "Mét vải"], False, "dệt thủ công"),
    ("Thổ cẩm", "handicrafts", "fabrics_garments", (200, 900), ["Túi xách", "Khăn choàng"], False, "hoa văn truyền thống"),
    ("Lan hồ điệp", "ornamentals", "flowers", (200, 1200), ["Chậu 3 cành"], False, "hoa bền"),
    ("Mai vàng", "ornamentals", "ornamental_plants", (500, 5000), ["Chậu"], False, "dáng thế"),
    ("Bonsai sanh", "ornamentals", "ornamental_plants", (800, 8000), ["Chậu"], False, "uốn tỉa nghệ thuật"),
    ("Cá Koi", "ornamentals", "ornamental_animals", (300, 3000), ["Con 20 cm"], False, "nuôi hồ"),
    ("Du lịch cộng đồng", "tourism", "community_eco_tourism", (80, 600), ["Vé người lớn", "Vé trẻ em"], True, "trải nghiệm đời sống bản địa"),
    ("Trải nghiệm làng nghề", "tourism", "community_eco_tourism", (60, 400), ["Vé tham quan"], True, "tham quan và tự tay làm sản phẩm"),
    ("Homestay sinh thái", "tourism", "community_eco_tourism", (300, 1500), ["Phòng 1 đêm"], True, "nghỉ nhà dân"),
]
# relative frequency per group (beverages ~ a quarter of the documents mention rượu)
GROUP_WEIGHT = {"food": 52, "beverages": 22, "medicinal_herbs": 10, "handicrafts": 9, "ornamentals": 3, "tourism": 4}
QUALIFIERS = ["", "", "", "đặc sản", "hữu cơ", "truyền thống", "VietGAP", "loại 1", "cao cấp", "gia truyền", "sạch"]
METHODS = ["sản xuất", "chế biến", "trồng", "làm thủ công", "canh tác hữu cơ", "nuôi trồng"]
BENEFITS = ["Sản phẩm đạt chứng nhận an toàn thực phẩm.", "Có tem truy xuất nguồn gốc QR.",
            "Bao bì đạt chuẩn, phù hợp làm quà biếu.", "Được người tiêu dùng trong tỉnh tin dùng.",
            "Nguyên liệu từ vùng trồng được cấp mã số.", ""]
BRANDS = ["Thảo Nguyên", "Phúc Lộc", "Minh Tâm", "Hồng Phát", "An Phú", "Tân Lộc", "Kim Long", "Việt Xanh",
          "Sao Mai", "Hoàng Gia", "Đại Phát", "Bảo Ngọc", "Thiên Ân", "Hưng Thịnh", "Nông Sản Việt", "Quê Hương"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý"]
GIVEN = ["Thị Lan", "Văn Hùng", "Minh Tuấn", "Thị Hoa", "Văn Bình", "Thanh Hương", "Quốc Đạt", "Thị Mai",
         "Đức Thắng", "Ngọc Ánh", "Văn Tâm", "Thị Hằng", "Hữu Nghĩa", "Thu Trang"]
COOP_WORDS = ["Nông nghiệp", "Dịch vụ Nông nghiệp", "Nông nghiệp Dịch vụ Tổng hợp", "Sản xuất và Thương mại",
              "Nông nghiệp Công nghệ cao"]
LEGAL_FORMS = [("cooperative", 33), ("enterprise", 25), ("household_business", 34), ("cooperative_group", 8)]
SEED = 2026


def _places() -> dict:
    return json.loads(resources.files("core").joinpath("data/search_sample_places.json").read_text("utf-8"))


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def _units(places: dict) -> list[dict]:
    """Current provinces and communes plus the retired province/district/commune each place came from."""
    units: dict[str, dict] = {}
    for code, name in places["provinces"].items():
        units[code] = {"code": code, "name": name, "level": "province", "parent_code": None, "successor_code": None}
    for row in places["communes"]:
        units.setdefault(row["commune_code"], {"code": row["commune_code"], "name": row["commune"], "level": "commune",
                                               "parent_code": row["province_code"], "successor_code": None})
        old_p, old_d, old_c = (f"OLD-P{row['old_province_code']}", f"OLD-D{row['old_district_code']}",
                               f"OLD-C{row['old_commune_code']}")
        units.setdefault(old_p, {"code": old_p, "name": row["old_province"], "level": "province", "parent_code": None,
                                 "successor_code": row["province_code"]})
        units.setdefault(old_d, {"code": old_d, "name": row["old_district"], "level": "district", "parent_code": old_p,
                                 "successor_code": row["province_code"]})
        units.setdefault(old_c, {"code": old_c, "name": row["old_commune"], "level": "commune", "parent_code": old_d,
                                 "successor_code": row["commune_code"]})
    for unit in units.values():
        unit["name_folded"] = fold(unit["name"])
        unit["retired_on"] = dt.date(2025, 7, 1) if unit["code"].startswith("OLD-") else None
        unit["note"] = "synthetic search catalogue" if unit["code"].startswith("OLD-") else None
    return list(units.values())


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _insert_returning(model, rows: list[dict], batch: int = 1000) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), batch):
        result = db.session.execute(insert(model).returning(model.id, sort_by_parameter_order=True),
                                    rows[start:start + batch])
        ids.extend(r[0] for r in result)
    return ids


def generate_catalogue(n: int, seed: int = SEED, progress=None, with_stock: bool = True) -> dict:
    """Insert ``n`` synthetic products (plus producers, units, variants, certifications, stock). Commits.

    About 91% end up listed; the rest are expired, drafts or archived. Returns
    counts. Deterministic for a given ``seed`` and empty catalogue.
    """
    rng = random.Random(seed)
    today = clock.today()
    places = _places()
    communes = places["communes"]
    provinces = places["provinces"]

    existing = set(db.session.execute(select(AdministrativeUnit.code)).scalars())
    new_units = [u for u in _units(places) if u["code"] not in existing]
    parents = [{k: v for k, v in u.items() if k not in ("parent_code", "successor_code")} for u in new_units]
    if parents:
        db.session.execute(insert(AdministrativeUnit), parents)
        links = [{"c": u["code"], "p": u["parent_code"], "s": u["successor_code"]}
                 for u in new_units if u["parent_code"] or u["successor_code"]]
        if links:
            table = AdministrativeUnit.__table__
            db.session.execute(table.update().where(table.c.code == bindparam("c"))
                               .values(parent_code=bindparam("p"), successor_code=bindparam("s")), links)
    db.session.flush()

    # producers ---------------------------------------------------------------------------
    run = db.session.execute(select(func.coalesce(func.max(Product.id), 0))).scalar_one()
    n_producers = max(1, round(n * 0.58))
    producer_rows, producer_places = [], []
    now = utcnow()
    for i in range(n_producers):
        place = rng.choice(communes)
        form = _weighted(rng, LEGAL_FORMS)
        old_name = place["old_commune"]
        if form == "cooperative":
            name = f"HTX {rng.choice(COOP_WORDS)} {old_name}"
        elif form == "enterprise":
            name = f"Công ty {rng.choice(['TNHH', 'Cổ phần', 'TNHH MTV'])} {rng.choice(BRANDS)} {place['old_district']}"
        elif form == "household_business":
            name = f"{rng.choice(['Cơ sở', 'Hộ kinh doanh'])} {rng.choice(FAMILY)} {rng.choice(GIVEN)}"
        else:
            name = f"Tổ hợp tác sản xuất {old_name}"
        legacy = rng.random() < 0.6
        producer_rows.append({
            "name": name, "slug": f"{slugify(name)[:140]}-s{run}-{i}", "legal_form": form,
            "commune_code": f"OLD-C{place['old_commune_code']}" if legacy else place["commune_code"],
            "province_code": place["province_code"], "status": "verified", "verified_at": now,
            "address": f"{place['old_commune']}, {place['old_district']}, {place['old_province']}",
            "created_at": now, "updated_at": now})
        producer_places.append(place)
    producer_ids = _insert_returning(Producer, producer_rows)

    # products ------------------------------------------------------------------------------
    kinds_by_group: dict[str, list] = {}
    for kind in KINDS:
        kinds_by_group.setdefault(kind[1], []).append(kind)
    group_pairs = list(GROUP_WEIGHT.items())
    product_rows, product_meta = [], []
    for i in range(n):
        pi = i if i < n_producers else rng.randrange(n_producers)
        place = producer_places[pi]
        kind = rng.choice(kinds_by_group[_weighted(rng, group_pairs)])
        label, group, product_set, (low, high), units, is_service, feature = kind
        where = rng.choice([place["old_commune"], place["old_district"], place["old_province"],
                            provinces[place["province_code"]].replace("Thành phố ", "")])
        qualifier = rng.choice(QUALIFIERS)
        name = " ".join(part for part in (label, qualifier, where) if part)
        description = (f"{label} {feature}, được {rng.choice(METHODS)} tại {place['old_commune']}, "
                       f"{place['old_district']}, {place['old_province']}. {rng.choice(BENEFITS)}").strip()
        story = (f"Câu chuyện sản phẩm: nghề làm {label.lower()} ở {place['old_commune']} có từ lâu đời, "
                 f"được {producer_rows[pi]['name']} gìn giữ và phát triển.") if rng.random() < 0.4 else None
        r = rng.random()
        status = "active" if r < 0.97 else ("draft" if r < 0.985 else "archived")
        expired = rng.random() < 0.06
        stars = _weighted(rng, [(3, 76), (4, 23), (5, 1)])
        if expired:
            issued = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 1000))
        else:
            issued = today - dt.timedelta(days=rng.randrange(20, 1060))
        expires = _plus_years(issued, 3)
        prices = sorted(rng.randrange(low, high + 1) * 1000 for _ in units)
        listed = status == "active" and expires > today
        created = now - dt.timedelta(days=rng.randrange(0, 900), minutes=i)
        product_rows.append({
            "producer_id": producer_ids[pi], "name": name, "slug": f"{slugify(name)[:140]}-s{run}-{i}",
            "group_code": group, "product_set_code": product_set, "description": description, "story": story,
            "origin_commune_code": producer_rows[pi]["commune_code"], "status": status, "is_listed": listed,
            "listed_stars": stars if listed else None, "listed_until": expires if listed else None,
            "price_min": prices[0], "price_max": prices[-1], "created_at": created, "updated_at": created})
        product_meta.append((stars, issued, expires, expired, units, prices, is_service, place))
        if progress and (i + 1) % 1000 == 0:
            progress(1000)
    product_ids = _insert_returning(Product, product_rows)

    # variants and certifications ------------------------------------------------------------------
    variant_rows, cert_rows, variant_owner = [], [], []
    for pid, (stars, issued, expires, expired, units, prices, is_service, place) in zip(product_ids, product_meta):
        for k, (unit, price) in enumerate(zip(units, prices)):
            variant_rows.append({"product_id": pid, "sku": f"GEN-{pid}-{k + 1}", "name": unit, "unit": unit,
                                 "price": price, "is_service": is_service, "active": True,
                                 "created_at": now, "updated_at": now})
            variant_owner.append((pid, is_service))
        low, high = {3: (50, 70), 4: (70, 90), 5: (90, 100)}[stars]
        level = "central" if stars == 5 else ("province" if stars == 4 or issued >= dt.date(2025, 7, 6) else "district")
        cert_rows.append({
            "product_id": pid, "stars": stars, "score": Decimal(f"{rng.uniform(low, high - 0.1):.1f}"),
            "level": level, "criteria_set": "148" if issued >= dt.date(2023, 2, 24) else "1048",
            "council": f"Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp {'trung ương' if level == 'central' else ('tỉnh' if level == 'province' else 'huyện')}",
            "decision_no": f"{rng.randrange(100, 3000)}/QĐ-UBND", "issued_on": issued, "expires_on": expires,
            "status": "expired" if expired else "active", "created_at": now})
    variant_ids = _insert_returning(Variant, variant_rows)
    db.session.execute(insert(Certification), cert_rows)

    stocked = 0
    if with_stock:
        stocked = _stock(rng, producer_ids, product_rows, product_ids, variant_ids, variant_owner, now)
    db.session.commit()
    if progress and n % 1000:
        progress(n % 1000)
    return {"producers": len(producer_ids), "products": len(product_ids), "variants": len(variant_ids),
            "listed": sum(1 for r in product_rows if r["is_listed"]), "stocked_variants": stocked}


def _stock(rng, producer_ids, product_rows, product_ids, variant_ids, variant_owner, now) -> int:
    """One warehouse per producer; ~85% of goods variants received (ledger-consistent receipt rows)."""
    Location, Lot, Movement = StockLocation, StockLot, StockMovement
    producer_of = {pid: row["producer_id"] for pid, row in zip(product_ids, product_rows)}
    location_rows = [{"kind": "producer_warehouse", "name": f"Kho chủ thể {pid}", "producer_id": pid, "active": True,
                      "created_at": now, "updated_at": now} for pid in producer_ids]
    location_ids = dict(zip(producer_ids, _insert_returning(Location, location_rows)))
    stock_rows, quantities = [], []
    for vid, (pid, is_service) in zip(variant_ids, variant_owner):
        if is_service or rng.random() < 0.15:
            continue
        quantity = rng.randrange(5, 400)
        stock_rows.append({"variant_id": vid, "location_id": location_ids[producer_of[pid]], "on_hand": quantity,
                           "allocated": 0, "updated_at": now})
        quantities.append(quantity)
    stock_ids = _insert_returning(Stock, stock_rows)
    lot_ids = _insert_returning(Lot, [{"stock_id": sid, "lot_no": "", "on_hand": q, "allocated": 0, "created_at": now}
                                      for sid, q in zip(stock_ids, quantities)])
    db.session.execute(insert(Movement), [
        {"stock_id": sid, "lot_id": lid, "kind": "receipt", "quantity": q, "reason": "Tồn kho mẫu (synthetic)",
         "reference": "search:sample", "created_at": now} for sid, lid, q in zip(stock_ids, lot_ids, quantities)])
    return len(stock_ids)
