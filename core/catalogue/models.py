"""Catalogue models: producers, products, variants, images and the catalogue version counter."""
from __future__ import annotations

from typing import TYPE_CHECKING


from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, CheckConstraint, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

if TYPE_CHECKING:  # the certification domain sits above the catalogue (it imports it)
    from core.certification.models import Certification

LEGAL_FORMS = ("enterprise", "cooperative", "cooperative_group", "household_business")
PRODUCER_STATUSES = ("pending", "verified", "rejected", "suspended")
PRODUCT_STATUSES = ("draft", "active", "archived")


class Producer(db.Model):
    __tablename__ = "producer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    legal_form: Mapped[str] = mapped_column(String(30), index=True)
    tax_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    registration_no: Mapped[str | None] = mapped_column(String(40))
    commune_code: Mapped[str] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    verified_at = mapped_column(UTCDateTime, nullable=True)
    verified_by_id: Mapped[int | None] = mapped_column(Integer)  # user id, kept after user deletion
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    commune = relationship("AdministrativeUnit", foreign_keys=[commune_code])
    province = relationship("AdministrativeUnit", foreign_keys=[province_code])
    products = relationship("Product", back_populates="producer")


class Product(db.Model):
    __tablename__ = "product"
    __table_args__ = (Index("ix_product_listing", "is_listed", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    group_code: Mapped[str] = mapped_column(String(60), index=True)
    product_set_code: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    story: Mapped[str | None] = mapped_column(Text)
    origin_commune_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    # Denormalised listing state, maintained by core.services.listing.
    is_listed: Mapped[bool] = mapped_column(Boolean, default=False)
    listed_stars: Mapped[int | None] = mapped_column(Integer)
    listed_until = mapped_column(Date, nullable=True)
    price_min: Mapped[int | None] = mapped_column(BigInteger)
    price_max: Mapped[int | None] = mapped_column(BigInteger)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    producer = relationship("Producer", back_populates="products")
    origin_commune = relationship("AdministrativeUnit")
    variants = relationship("Variant", back_populates="product", order_by="Variant.id",
                            cascade="all, delete-orphan")
    images = relationship("ProductImage", back_populates="product", order_by="ProductImage.position",
                          cascade="all, delete-orphan")
    certifications = relationship("Certification", back_populates="product",
                                  order_by="Certification.issued_on")

    def current_certification(self) -> "Certification | None":
        active = [c for c in self.certifications if c.status == "active"]
        return max(active, key=lambda c: c.issued_on) if active else None


class ProductImage(db.Model):
    __tablename__ = "product_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(String(1000))
    storage_key: Mapped[str | None] = mapped_column(String(300), index=True)
    content_type: Mapped[str | None] = mapped_column(String(60))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)  # pixels as shown (EXIF orientation applied)
    height: Mapped[int | None] = mapped_column(Integer)
    # the thumbnails' widths stored beside the upload (core.catalogue.images); None: not made yet
    thumbnail_widths = mapped_column(JSON(none_as_null=True), nullable=True)
    alt: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    product = relationship("Product", back_populates="images")


class Variant(db.Model):
    __tablename__ = "variant"
    __table_args__ = (CheckConstraint("price > 0", name="price_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    weight_g: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(BigInteger)
    is_service: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity_per_day: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product = relationship("Product", back_populates="variants")



class CatalogueVersion(db.Model):
    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
