"""Console: create a product with its first variant and an image, add variants and images to a product.

The catalogue's services decide (scope, SKU and GTIN uniqueness, prices, image type and size); the forms
go through the API's input schemas. A refusal writes nothing (the request rolls back) and the form is shown
again with the reasons."""
from __future__ import annotations

from flask import redirect, request, url_for

from admin.console import forms
from admin.console.producer_views import EDITOR_ROLES, product_row
from admin.console.shell import error_text, render
from core import clock
from core.accounts.security import current_user
from core.catalogue import groups, producers, products
from core.catalogue.models import PRODUCT_STATUSES
from core.catalogue.schemas import ProductInSchema, VariantInSchema
from core.errors import DomainError, invalid

MAX_PRODUCER_CHOICES = 200


def add_pages(pages) -> None:
    pages.add_page("/products/new", product_new, endpoint="product_new", roles=EDITOR_ROLES, methods=("GET", "POST"))
    pages.add_page("/products/<int:product_id>/variants", variant_add, endpoint="variant_add", roles=EDITOR_ROLES,
                   methods=("POST",))
    pages.add_page("/products/<int:product_id>/images", image_add, endpoint="image_add", roles=EDITOR_ROLES,
                   methods=("POST",))


def _variant_data(form, prefix: str = "variant_") -> dict:
    return {"sku": forms.text(form, f"{prefix}sku"), "gtin": forms.text(form, f"{prefix}gtin"),
            "name": forms.text(form, f"{prefix}name"), "unit": forms.text(form, f"{prefix}unit"),
            "price": forms.vnd(form, f"{prefix}price")}


def _upload():
    """The form's image file, or None when none was chosen."""
    upload = request.files.get("image")
    return upload if upload is not None and upload.filename else None


def _producer_choices(user) -> list:
    if user.role == "producer":
        return []
    return producers.list_producers(user, {"status": "verified", "page": 1, "limit": MAX_PRODUCER_CHOICES})["results"]


def _new_form(status: int = 200, **context):
    user = current_user()
    return render("console/product_new.html", status, groups=groups.groups(), statuses=PRODUCT_STATUSES,
                  producers=_producer_choices(user), form=request.form, **context)


def product_new():
    """A new product (draft unless chosen otherwise) with its first variant and, optionally, an image."""
    if request.method == "GET":
        return _new_form()
    user = current_user()
    form = request.form
    try:
        data = forms.load(ProductInSchema(), {
            "name": forms.text(form, "name"), "group": forms.text(form, "group"),
            "product_set": forms.text(form, "product_set"), "description": forms.text(form, "description"),
            "status": forms.text(form, "status") or "draft", "variants": [
                {k: v for k, v in _variant_data(form).items() if v is not None}]})
        producer_id = user.producer_id if user.role == "producer" else forms.vnd(form, "producer_id")
        if not isinstance(producer_id, int):
            raise invalid("producer_id", "hãy chọn chủ thể", "choose a producer")
        product = products.create_product(user, producers.get_producer(producer_id), data)
        upload = _upload()
        if upload is not None:
            products.add_image_upload(user, product, upload.read(), upload.mimetype, forms.text(form, "image_alt"))
    except DomainError as exc:  # nothing is kept: the request rolls back
        return _new_form(exc.status, error=error_text(exc), field_errors=forms.field_errors(exc))
    return redirect(url_for("console.product_edit", product_id=product.id, created=1))


def _edit_again(product, exc: DomainError):
    return render("console/product_edit.html", exc.status, row=product_row(product, clock.today()),
                  statuses=PRODUCT_STATUSES, error=error_text(exc), field_errors=forms.field_errors(exc))


def variant_add(product_id: int):
    """Add a variant (the API's rules: SKU unique, GTIN check digit, price > 0 VND)."""
    user = current_user()
    product = products.view_product(user, product_id)
    try:
        data = forms.load(VariantInSchema(), _variant_data(request.form))
        products.add_variant(user, product, data)
    except DomainError as exc:
        return _edit_again(product, exc)
    return redirect(url_for("console.product_edit", product_id=product.id, saved=1))


def image_add(product_id: int):
    """Upload a JPEG, PNG or WebP image (≤ 5 MB, content checked by the catalogue)."""
    user = current_user()
    product = products.view_product(user, product_id)
    upload = _upload()
    try:
        if upload is None:
            raise invalid("image", "hãy chọn một tệp ảnh", "choose an image file")
        products.add_image_upload(user, product, upload.read(), upload.mimetype, forms.text(request.form, "image_alt"))
    except DomainError as exc:
        return _edit_again(product, exc)
    return redirect(url_for("console.product_edit", product_id=product.id, saved=1))
