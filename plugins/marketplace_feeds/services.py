"""What the routes call: one function per endpoint, each checking who may act (role checks are on the routes)."""
from __future__ import annotations

import json

from core.errors import DomainError, NotFound, ValidationFailed
from plugins.marketplace_feeds import builds, order_files, order_import, registry, signing, templates
from plugins.marketplace_feeds.models import Marketplace


def marketplace_view(user, marketplace: Marketplace) -> dict:
    """The marketplace; admins also see its secret feed URLs and webhook secret."""
    view = {c: getattr(marketplace, c) for c in ("id", "code", "kind", "name", "product_url_template",
                                                 "fallback_image_url", "category_map", "active", "sales_channel_id",
                                                 "created_at", "updated_at", "channel")}
    if user.role == "admin":
        view.update(feed_urls=builds.feed_urls(marketplace), webhook_secret=marketplace.webhook_secret)
    return view


def _file_error(exc: order_files.OrderFileError) -> ValidationFailed:
    return ValidationFailed(exc.details or {"file": [exc.message_en]}, code=exc.code, message=exc.message,
                            message_en=exc.message_en)


def import_file(user, marketplace: Marketplace, upload) -> object:
    """An order export uploaded by an admin or the marketplace's organiser → core orders (all or nothing)."""
    if upload is None:
        raise ValidationFailed({"file": ["an order export (CSV or XLSX) is required"]},
                               code="marketplace_import.no_file", message="Chưa chọn tệp đơn hàng.",
                               message_en="No order file was uploaded.")
    data = upload.read(order_files.MAX_BYTES + 1)
    try:
        source, records = order_files.read_file(data, upload.filename or "")
    except order_files.OrderFileError as exc:
        raise _file_error(exc) from exc
    return order_import.import_records(user, marketplace, records, source=source, filename=upload.filename,
                                       raw=data)


def receive_webhook(code: str, body: bytes, signature: str | None) -> object:
    """A signed push of orders or status changes from a marketplace relay (no user: the signature is the caller)."""
    try:
        marketplace = registry.by_code(code)
    except NotFound:
        raise signing.BadSignature() from None  # an unknown code looks like a bad signature
    signing.check_signature(marketplace.webhook_secret, body, signature)
    try:
        document = json.loads(body.decode("utf-8"))
        records = order_files.read_webhook(document)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, order_files.OrderFileError):
            raise _file_error(exc) from exc
        raise ValidationFailed({"body": ["not valid UTF-8 JSON"]}, code="marketplace_import.bad_body",
                               message="Nội dung không phải JSON hợp lệ.", message_en="The body is not valid JSON.")
    return order_import.import_records(None, marketplace, records, source="webhook", filename=None, raw=body)


def report_of(marketplace: Marketplace, fmt: str):
    builds.get_format(fmt)
    build = builds.latest_build(marketplace, fmt)
    if build is None:
        raise DomainError("feed.not_built", "Nguồn cấp này chưa được tạo.", "This feed has not been built yet.",
                          {"format": fmt}, status=404)
    return build


def fill_template(user, marketplace: Marketplace, upload) -> tuple[bytes, str, dict, str]:
    """A seller's mass-upload template filled with the published items (a producer: its own only)."""
    if upload is None:
        raise ValidationFailed({"file": ["a template (.xlsx or .xlsm) is required"]},
                               code="marketplace_template.no_file", message="Chưa chọn tệp mẫu.",
                               message_en="No template was uploaded.")
    producer_id = user.producer_id if user.role == "producer" else None
    data, content_type, summary = templates.fill(marketplace, upload.read(templates.MAX_BYTES + 1),
                                                 upload.filename or "", producer_id)
    return data, content_type, summary, upload.filename
