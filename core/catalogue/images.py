"""Product images in sizes fit for the screen: checked on upload, thumbnails beside the upload, srcset for pages.

An uploaded image ``products/12/ab12.jpg`` gets WebP thumbnails ``products/12/ab12.w160.webp``, ``.w480.webp``
and ``.w960.webp`` (only widths below its own; never enlarged), written when it is uploaded and by
``ocop images thumbnails`` for older uploads. A thumbnail that cannot be made never loses the upload: the
image is shown as uploaded (and the backfill tries again unless the file itself is unusable). Services flush.
"""
from __future__ import annotations

import io
import logging
import warnings
from typing import Callable, Iterable

from flask import url_for
from sqlalchemy import func, select

from core.catalogue.models import ProductImage
from core.db import db
from core.plugins import LazyModule
from core.storage import storage

# Pillow (~2 MB) loads when an upload is first decoded, not with every app (a Celery worker, a feed build)
Image = LazyModule("PIL.Image")
ImageOps = LazyModule("PIL.ImageOps")

log = logging.getLogger(__name__)

THUMBNAIL_WIDTHS = (160, 480, 960)
#: the largest picture accepted (pixels): 40 Mpx is more than any phone camera; a small file declaring more is
#: a decompression bomb
MAX_PIXELS = 40_000_000
WEBP_QUALITY = 80
BACKFILL_BATCH = 50


class Unusable(Exception):
    """The stored file cannot be decoded (damaged, truncated, not an image) or has too many pixels."""


def _as_shown(size: tuple[int, int], orientation) -> tuple[int, int]:
    """The stored size turned as the EXIF orientation turns it (5–8: a quarter turn)."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _decode(data: bytes) -> tuple[tuple[int, int], Image.Image]:
    """(size as shown, the picture turned upright) of an upload; JPEGs decode at 1/2, 1/4 or 1/8 when that
    still covers the largest thumbnail. :class:`Unusable` when it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.size[0] * img.size[1] > MAX_PIXELS:
                    raise Unusable(f"{img.size} is over {MAX_PIXELS} pixels")
                full = _as_shown(img.size, img.getexif().get(0x0112))
                if img.format == "JPEG":
                    img.draft("RGB", (max(THUMBNAIL_WIDTHS), max(THUMBNAIL_WIDTHS)))
                shown = ImageOps.exif_transpose(img)  # loads the pixels: a damaged body fails here
                if shown.mode not in ("RGB", "RGBA"):
                    alpha = "A" in shown.getbands() or "transparency" in shown.info
                    shown = shown.convert("RGBA" if alpha else "RGB")
                return full, shown
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, Image.UnidentifiedImageError, OSError,
            SyntaxError, ValueError, EOFError) as exc:
        raise Unusable(f"{type(exc).__name__}: {exc}") from exc


def thumbnail_key(key: str, width: int) -> str:
    """Where the ``width`` px thumbnail of the upload ``key`` is stored: ``products/12/ab12.w480.webp``."""
    stem = key.rsplit(".", 1)[0]
    return f"{stem}.w{width}.webp"


def make_thumbnails(image: ProductImage, data: bytes | None = None) -> list[int]:
    """Write the thumbnails of an uploaded image (its bytes, else read from storage); set its size and widths.

    Raises :class:`Unusable` for a file no thumbnail can be made from, and whatever the disk raises.
    """
    files = storage()
    if data is None:
        data = files.path(image.storage_key).read_bytes()
    full, shown = _decode(data)
    image.width, image.height = full
    made = []
    for width in THUMBNAIL_WIDTHS:
        if width >= full[0]:
            break  # never enlarged: the original serves the larger screens
        height = max(1, round(full[1] * width / full[0]))
        thumb = shown.resize((width, height), Image.Resampling.LANCZOS,
                             reducing_gap=3.0 if shown.width >= 3 * width else None)
        out = io.BytesIO()
        thumb.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
        target = files.path(thumbnail_key(image.storage_key, width))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(out.getvalue())
        made.append(width)
    image.thumbnail_widths = made
    return made


def add_thumbnails(image: ProductImage, data: bytes | None = None) -> bool:
    """:func:`make_thumbnails`, logged instead of raised; False leaves the image shown as uploaded.

    A file no thumbnail can be made from is marked done with none (``[]``); any other failure (the disk)
    leaves ``thumbnail_widths`` None, so ``ocop images thumbnails`` tries again.
    """
    try:
        make_thumbnails(image, data)
        return True
    except Unusable as exc:
        log.warning("product image %s (%s): no thumbnails can be made (%s)", image.id, image.storage_key, exc)
        image.thumbnail_widths = []
    except Exception:  # noqa: BLE001 — whatever else fails must keep the upload
        log.warning("thumbnails of product image %s (%s) not made", image.id, image.storage_key, exc_info=True)
        image.thumbnail_widths = None
    return False


# --- backfill --------------------------------------------------------------------------------------------
def missing_count() -> int:
    """Uploaded images without thumbnails yet."""
    return db.session.execute(select(func.count()).select_from(ProductImage).where(
        ProductImage.storage_key.is_not(None), ProductImage.thumbnail_widths.is_(None))).scalar_one()


def backfill(progress: Callable[[int], None] | None = None) -> dict:
    """Make the thumbnails of every upload that has none (uploaded before thumbnails existed, or whose first
    try failed), in batches of :data:`BACKFILL_BATCH`; flushes after each. A missing or unreadable file is
    counted and skipped (it stays without thumbnails)."""
    done = failed = 0
    after = 0
    while True:
        batch = db.session.execute(select(ProductImage).where(
            ProductImage.storage_key.is_not(None), ProductImage.thumbnail_widths.is_(None), ProductImage.id > after)
            .order_by(ProductImage.id).limit(BACKFILL_BATCH)).scalars().all()
        if not batch:
            break
        for image in batch:
            if add_thumbnails(image):
                done += 1
            else:
                failed += 1
        after = batch[-1].id
        db.session.flush()
        if progress:
            progress(len(batch))
    return {"made": done, "failed": failed}


# --- what pages show ---------------------------------------------------------------------------------------
def _media(key: str) -> str:
    return url_for("media", key=key)


def responsive(image: ProductImage | None, url: str | None = None, shown_width: int = 480) -> dict | None:
    """``{src, srcset, width, height}`` of an image for an ``<img>``: ``src`` the thumbnail closest to
    ``shown_width`` (the original when there are none), ``srcset`` every thumbnail and the original by width,
    ``width``/``height`` the size of ``src`` (None when unknown). ``url`` alone (an external image): that URL."""
    if image is None or not image.storage_key:
        src = url or (image.url if image is not None else None)
        return {"src": src, "srcset": None, "width": None, "height": None} if src else None
    original = _media(image.storage_key)
    widths = list(image.thumbnail_widths or ())
    if not widths or not image.width:
        return {"src": original, "srcset": None, "width": image.width, "height": image.height}
    entries = [(w, _media(thumbnail_key(image.storage_key, w))) for w in widths] + [(image.width, original)]
    chosen = next(((w, u) for w, u in entries if w >= shown_width), entries[-1])
    return {"src": chosen[1], "srcset": ", ".join(f"{u} {w}w" for w, u in entries),
            "width": chosen[0], "height": max(1, round(image.height * chosen[0] / image.width))}


def responsive_by_url(urls: Iterable[str | None], shown_width: int = 240) -> dict[str, dict]:
    """:func:`responsive` for the image URLs a listing carries (``/media/<key>`` or external), one query."""
    urls = {u for u in urls if u}
    prefix = _media("__key__").split("__key__")[0]
    keys = {u[len(prefix):]: u for u in urls if u.startswith(prefix)}
    found = {}
    if keys:
        found = {img.storage_key: img for img in db.session.execute(
            select(ProductImage).where(ProductImage.storage_key.in_(keys))).scalars()}
    out = {}
    for url in urls:
        image = found.get(url[len(prefix):]) if url.startswith(prefix) else None
        out[url] = responsive(image, url=url, shown_width=shown_width)
    return out
