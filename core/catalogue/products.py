"""Products, variants and images of a producer's catalogue."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from stdnum import ean

from core.db import db
from core.errors import Conflict, DomainError, NotFound, invalid
from core.catalogue.models import Producer, Product, ProductImage, Variant
from core.catalogue.models import PRODUCT_STATUSES
from core.audit import trail as audit
from core.geo import units as geo
from core.catalogue import groups, images, listing
from core.catalogue.listing import is_listed
from core.catalogue.access import require_catalogue_editor, require_producer_access, visible_producers_filter
from core.storage import storage
from core.text import slugify
from core.pagination import paginate

if TYPE_CHECKING:  # accounts sits above the catalogue
    from core.accounts.models import User

IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def normalise_gtin(value: str | None) -> str | None:
    """Validate a GTIN-8/12/13/14 by its GS1 check digit."""
    if value in (None, ""):
        return None
    compact = value.replace(" ", "").replace("-", "")
    if len(compact) not in (8, 12, 13, 14) or not compact.isdigit() or not ean.is_valid(compact):
        raise invalid("gtin", "mã GTIN không hợp lệ (sai độ dài hoặc chữ số kiểm tra)",
                      "invalid GTIN (length or check digit)")
    return compact


def unique_slug(name: str, product_id: int | None = None) -> str:
    base = slugify(name)
    slug, n = base, 1
    while True:
        found = db.session.execute(select(Product.id).where(Product.slug == slug)).scalar_one_or_none()
        if found is None or found == product_id:
            return slug
        n += 1
        slug = f"{base}-{n}"


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("product", "sản phẩm")
    return product


def _detail_loads() -> tuple:
    """What a product page reads, loaded with the product (one round trip per collection, no lazy loads).

    Built per call: touching the relationships at import time would configure the mappers before the
    certification domain's models exist.
    """
    return (joinedload(Product.producer).joinedload(Producer.province), joinedload(Product.origin_commune),
            selectinload(Product.variants), selectinload(Product.images), selectinload(Product.certifications))


def get_listed_by_slug(slug: str) -> Product:
    """A listed product by slug (unlisted products are 404 on the storefront)."""
    product = db.session.execute(select(Product).where(Product.slug == slug).options(*_detail_loads())
                                 ).unique().scalar_one_or_none()
    if product is None or not is_listed(product):
        raise NotFound("product", "sản phẩm")
    return product


def apply_fields(product: Product, data: dict) -> None:
    """Validate and set the editable fields of ``product`` from ``data`` (no audit, no commit)."""
    if "group" in data or "product_set" in data:
        group, product_set = groups.resolve(data.get("group", product.group_code),
                                            data.get("product_set", product.product_set_code))
        product.group_code, product.product_set_code = group, product_set
    if "origin_commune_code" in data:
        product.origin_commune_code = geo.require_commune(data["origin_commune_code"], "origin_commune_code").code \
            if data["origin_commune_code"] else None
    if "status" in data and data["status"] not in PRODUCT_STATUSES:
        raise invalid("status", "trạng thái không hợp lệ", "invalid status")
    for key in ("name", "description", "story", "status"):
        if key in data:
            setattr(product, key, data[key])
    if "slug" in data and data["slug"]:
        if slugify(data["slug"]) != data["slug"]:
            raise invalid("slug", "slug chỉ gồm chữ thường không dấu, số và dấu gạch ngang",
                          "slug may only contain a-z, 0-9 and hyphens")
        if unique_slug(data["slug"], product.id) != data["slug"]:
            raise Conflict("product.slug_taken", "Slug đã được dùng.", "Slug already taken.", {"slug": data["slug"]})
        product.slug = data["slug"]
    elif "name" in data and not product.slug:
        product.slug = unique_slug(data["name"], product.id)


def create_product(user: User, producer: Producer, data: dict) -> Product:
    """Create a product (with optional variants) for ``producer``."""
    require_catalogue_editor(user, producer)
    data = dict(data)
    variants = data.pop("variants", []) or []
    if "group" not in data:
        raise invalid("group", "thiếu nhóm sản phẩm", "group is required")
    product = Product(producer=producer, status=data.get("status", "draft"), slug=None)
    db.session.add(product)
    with db.session.no_autoflush:
        apply_fields(product, data)
    db.session.flush()
    for vdata in variants:
        _add_variant(product, vdata)
    audit.record("product.created", product, actor=user, province_code=producer.province_code)
    listing.refresh(product)
    return product


def update_product(user: User, product: Product, data: dict) -> Product:
    """Edit a product within the caller's scope; archiving delists it."""
    require_catalogue_editor(user, product.producer)
    before = audit.snapshot(product)
    apply_fields(product, dict(data))
    audit.record("product.updated", product, before=before, actor=user, province_code=product.producer.province_code)
    listing.refresh(product, reason="archived" if product.status == "archived" else "deactivated")
    return product


def _add_variant(product: Product, data: dict) -> Variant:
    data = dict(data)
    sku = data.get("sku")
    if not sku:
        raise invalid("sku", "thiếu mã SKU", "sku is required")
    if db.session.execute(select(Variant.id).where(Variant.sku == sku)).first():
        raise Conflict("variant.sku_taken", "Mã SKU đã tồn tại.", "SKU already exists.", {"sku": sku})
    gtin = normalise_gtin(data.get("gtin"))
    if gtin and db.session.execute(select(Variant.id).where(Variant.gtin == gtin)).first():
        raise Conflict("variant.gtin_taken", "Mã GTIN đã tồn tại.", "GTIN already exists.", {"gtin": gtin})
    price = data.get("price")
    if not isinstance(price, int) or isinstance(price, bool) or price <= 0:
        raise invalid("price", "giá phải là số nguyên VND lớn hơn 0", "price must be a positive integer number of VND")
    variant = Variant(product=product, sku=sku, gtin=gtin, name=data.get("name") or product.name,
                      unit=data.get("unit"), weight_g=data.get("weight_g"), price=price,
                      is_service=bool(data.get("is_service", False)),
                      capacity_per_day=data.get("capacity_per_day"), active=data.get("active", True))
    db.session.add(variant)
    db.session.flush()
    return variant


def add_variant(user: User, product: Product, data: dict) -> Variant:
    """Add a variant (SKU unique, GTIN check digit, price > 0 VND)."""
    require_catalogue_editor(user, product.producer)
    variant = _add_variant(product, data)
    audit.record("variant.created", variant, actor=user, province_code=product.producer.province_code)
    listing.refresh(product)
    return variant


def get_variant(variant_id: int) -> Variant:
    variant = db.session.get(Variant, variant_id)
    if variant is None:
        raise NotFound("variant", "biến thể")
    return variant


def update_variant(user: User, variant: Variant, data: dict) -> Variant:
    """Edit a variant's name, GTIN, unit, weight, price or active flag."""
    require_catalogue_editor(user, variant.product.producer)
    before = audit.snapshot(variant)
    if "gtin" in data:
        gtin = normalise_gtin(data["gtin"])
        clash = db.session.execute(select(Variant.id).where(Variant.gtin == gtin)).scalar_one_or_none() if gtin else None
        if clash is not None and clash != variant.id:
            raise Conflict("variant.gtin_taken", "Mã GTIN đã tồn tại.", "GTIN already exists.", {"gtin": gtin})
        variant.gtin = gtin
    if "price" in data:
        price = data["price"]
        if not isinstance(price, int) or isinstance(price, bool) or price <= 0:
            raise invalid("price", "giá phải là số nguyên VND lớn hơn 0", "price must be a positive integer number of VND")
        variant.price = price
    for key in ("name", "unit", "weight_g", "is_service", "capacity_per_day", "active"):
        if key in data:
            setattr(variant, key, data[key])
    audit.record("variant.updated", variant, before=before, actor=user,
                 province_code=variant.product.producer.province_code)
    listing.refresh(variant.product)
    return variant


def _sniff(content_type: str, data: bytes) -> bool:
    """Does ``data`` really hold ``content_type``? By the format's signature and first chunk, not a prefix alone."""
    if content_type == "image/jpeg":  # SOI then a marker segment
        return len(data) > 4 and data[:3] == b"\xff\xd8\xff" and data[3] not in (0x00, 0xff)
    if content_type == "image/png":  # signature then the IHDR chunk of 13 bytes
        return data[:8] == b"\x89PNG\r\n\x1a\n" and data[8:16] == b"\x00\x00\x00\x0dIHDR"
    if content_type == "image/webp":  # a RIFF container of form WEBP whose first chunk is VP8, VP8L or VP8X
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X")
    return False


def add_image_upload(user: User, product: Product, data: bytes, content_type: str, alt: str | None = None) -> ProductImage:
    """Store an uploaded JPEG/PNG/WebP (≤ 5 MB, content checked) for ``product``, with its thumbnails
    (:mod:`core.catalogue.images`; a file they cannot be made from is kept and shown as uploaded)."""
    require_catalogue_editor(user, product.producer)
    if content_type not in IMAGE_TYPES:
        raise DomainError("image.unsupported_type", "Chỉ nhận ảnh JPEG, PNG hoặc WebP.",
                          "Only JPEG, PNG or WebP images are accepted.", {"content_type": content_type}, status=415)
    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError("image.too_large", "Ảnh vượt quá 5 MB.", "Image exceeds 5 MB.",
                          {"size": len(data)}, status=413)
    if not _sniff(content_type, data):
        raise DomainError("image.content_mismatch", "Nội dung tệp không khớp kiểu ảnh.",
                          "File content does not match the image type.", status=422)
    key = storage().save(data, IMAGE_TYPES[content_type], prefix=f"products/{product.id}/")
    image = ProductImage(product=product, storage_key=key, content_type=content_type, size_bytes=len(data),
                         alt=alt, position=len(product.images))
    db.session.add(image)
    db.session.flush()
    images.add_thumbnails(image, data)  # a failure keeps the upload (shown as uploaded; the backfill retries)
    audit.record("product.image_added", image, actor=user, province_code=product.producer.province_code)
    return image


def add_image_url(user: User, product: Product, url: str, alt: str | None = None) -> ProductImage:
    """Reference an image by https URL."""
    require_catalogue_editor(user, product.producer)
    if not (url.startswith("https://") or url.startswith("http://")):
        raise invalid("url", "đường dẫn ảnh phải là http(s)", "image URL must be http(s)")
    image = ProductImage(product=product, url=url, alt=alt, position=len(product.images))
    db.session.add(image)
    db.session.flush()
    audit.record("product.image_added", image, actor=user, province_code=product.producer.province_code)
    return image


def list_products_for(user: User, args: dict) -> dict:
    """Products visible to ``user`` in the admin API, paginated."""
    stmt = select(Product).join(Producer, Producer.id == Product.producer_id)
    scope = visible_producers_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    if args.get("producer_id"):
        stmt = stmt.where(Product.producer_id == args["producer_id"])
    if args.get("status"):
        stmt = stmt.where(Product.status == args["status"])
    if "listed" in args:
        stmt = stmt.where(Product.is_listed.is_(args["listed"]))
    return paginate(stmt.order_by(Product.id), args["page"], args["limit"])


def view_product(user: User, product_id: int) -> Product:
    """A product the user may see in the admin API (403 outside their scope)."""
    product = get_product(product_id)
    require_producer_access(user, product.producer)
    return product
