"""Product image thumbnails: made on upload (160, 480, 960 px wide WebP, never enlarged, EXIF orientation
applied), served from ``/media``, used by the site's ``srcset``; a file they cannot be made from, or a failing
disk, keeps the upload; ``ocop images thumbnails`` makes the missing ones with a progress bar."""
from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select

from core.catalogue import images
from core.catalogue.models import Product, ProductImage
from core.db import db

POMELO = "Bưởi da xanh Bình Lợi"
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))  # passes the signature check only


def picture(width: int, height: int, fmt: str = "JPEG", orientation: int | None = None) -> bytes:
    img = Image.new("RGB", (width, height), (200, 120, 40))
    img.paste((20, 90, 30), (0, 0, width // 2, height // 2))
    out = io.BytesIO()
    extra = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    img.save(out, fmt, **extra)
    return out.getvalue()


def product(name: str = POMELO) -> Product:
    return db.session.execute(select(Product).where(Product.name == name)).scalar_one()


def upload(client, login, data: bytes, content_type: str = "image/jpeg", name: str = POMELO):
    response = client.post(f"/admin/v1/products/{product(name).id}/images", headers=login("cs.htx-binh-loi"),
                           data={"file": (io.BytesIO(data), "anh", content_type), "alt": "Ảnh"},
                           content_type="multipart/form-data")
    db.session.expire_all()
    return response


def stored(app, key: str):
    return app.config["OCOP"].instance_path / "media" / key


def image_row(storage_key: str) -> ProductImage:
    return db.session.execute(select(ProductImage).where(ProductImage.storage_key == storage_key)).scalar_one()


def test_upload_makes_thumbnails_of_the_right_sizes(app, client, demo, login):
    response = upload(client, login, picture(1200, 900))
    assert response.status_code == 201, response.get_json()
    key = response.get_json()["storage_key"]
    row = image_row(key)
    assert (row.width, row.height, row.thumbnail_widths) == (1200, 900, [160, 480, 960])
    for width, height in ((160, 120), (480, 360), (960, 720)):
        thumb_key = images.thumbnail_key(key, width)
        assert thumb_key == key.rsplit(".", 1)[0] + f".w{width}.webp"
        with Image.open(stored(app, thumb_key)) as thumb:
            assert thumb.format == "WEBP" and thumb.size == (width, height)
        served = client.get(f"/media/{thumb_key}")
        assert served.status_code == 200 and served.mimetype == "image/webp"
        served.close()
    assert stored(app, key).read_bytes()[:3] == b"\xff\xd8\xff"  # the original is kept as uploaded


def test_small_and_turned_pictures_are_never_enlarged_and_stand_upright(app, client, demo, login):
    small = upload(client, login, picture(300, 200, "PNG"), "image/png").get_json()["storage_key"]
    assert image_row(small).thumbnail_widths == [160]
    assert not stored(app, images.thumbnail_key(small, 480)).exists()
    turned = upload(client, login, picture(800, 600, orientation=6)).get_json()["storage_key"]  # a quarter turn
    row = image_row(turned)
    assert (row.width, row.height, row.thumbnail_widths) == (600, 800, [160, 480])
    with Image.open(stored(app, images.thumbnail_key(turned, 480))) as thumb:
        assert thumb.size == (480, 640)
    tiny = upload(client, login, picture(120, 90)).get_json()["storage_key"]
    assert image_row(tiny).thumbnail_widths == []


def test_pages_use_srcset_with_the_thumbnails(client, demo, login):
    key = upload(client, login, picture(1200, 900)).get_json()["storage_key"]
    stem = "/media/" + key.rsplit(".", 1)[0]
    page = client.get("/san-pham/buoi-da-xanh-binh-loi").get_data(as_text=True)
    tag = re.search(r'<div class="photos">\s*(<img [^>]+>)', page).group(1)
    assert f'src="{stem}.w480.webp"' in tag and 'width="480" height="360"' in tag
    assert f'srcset="{stem}.w160.webp 160w, {stem}.w480.webp 480w, {stem}.w960.webp 960w, /media/{key} 1200w"' in tag
    assert 'sizes="' in tag
    for url in ("/tinh/75", f"/chu-the/{product().producer.slug}", "/xa/26188", "/tim-kiem?q=buoi"):
        body = client.get(url).get_data(as_text=True)
        card = re.search(rf'<img src="{re.escape(stem)}[^>]*>', body)
        assert card, url
        assert f'{stem}.w160.webp 160w' in card.group(0) and 'sizes="' in card.group(0), url
        assert 'width="480" height="360"' in card.group(0) and len(body) < 100_000, url


def test_a_file_no_thumbnail_can_be_made_from_is_kept_and_shown_as_uploaded(app, client, demo, login):
    whole = picture(1000, 800)
    for data, content_type in ((FAKE_PNG, "image/png"), (whole[: len(whole) // 2], "image/jpeg")):
        response = upload(client, login, data, content_type)
        assert response.status_code == 201, response.get_json()
        key = response.get_json()["storage_key"]
        assert stored(app, key).read_bytes() == data
        assert image_row(key).thumbnail_widths == []  # nothing to retry
        assert not list(stored(app, key).parent.glob(key.rsplit("/", 1)[1].split(".")[0] + ".w*"))
    page = client.get("/san-pham/buoi-da-xanh-binh-loi")
    assert page.status_code == 200 and "srcset" not in page.get_data(as_text=True)
    # still refused as before: too large, not what it says it is
    assert upload(client, login, FAKE_PNG + bytes(5 * 1024 * 1024), "image/png").status_code == 413
    assert upload(client, login, whole, "image/png").status_code == 422


@pytest.fixture
def run_cli(app, monkeypatch, database_url, instance_path):
    """The real ``ocop`` command group against the test database (a fresh app per call)."""
    from core.celery_app import init_celery
    from core.cli import cli
    monkeypatch.setenv("OCOP_DATABASE_URL", database_url)
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(instance_path))
    monkeypatch.delenv("OCOP_PLUGINS_DISABLED", raising=False)

    def run(*args):
        db.session.commit()  # release our own transaction before another app writes
        try:
            result = CliRunner().invoke(cli, list(args))
        finally:
            init_celery(app)
        assert result.exit_code == 0, (result.output, result.exception)
        db.session.expire_all()
        return result
    return run


def test_a_failing_disk_keeps_the_upload_and_the_backfill_makes_the_thumbnails(app, client, demo, login, run_cli,
                                                                           monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    data = picture(1200, 900)
    with monkeypatch.context() as patch:
        patch.setattr(Image.Image, "save", full_disk)  # Pillow cannot write: the thumbnails fail, not the upload
        response = upload(client, login, data)
    assert response.status_code == 201, response.get_json()
    failed = response.get_json()["storage_key"]
    assert image_row(failed).thumbnail_widths is None and stored(app, failed).is_file()
    # an image uploaded before thumbnails existed: no size, no thumbnails
    older = upload(client, login, picture(500, 500)).get_json()["storage_key"]
    done = upload(client, login, picture(200, 100)).get_json()["storage_key"]
    row = image_row(older)
    row.width = row.height = row.thumbnail_widths = None
    db.session.commit()
    for width in images.THUMBNAIL_WIDTHS:
        stored(app, images.thumbnail_key(older, width)).unlink(missing_ok=True)
    assert images.missing_count() == 2
    result = run_cli("images", "thumbnails")
    assert "Thumbnails made for 2 images; 0 kept as uploaded" in result.stdout and "0 still without" in result.stdout
    assert "thumbnails: 100%" in result.stderr and "2/2" in result.stderr
    assert image_row(failed).thumbnail_widths == [160, 480, 960]
    assert (image_row(older).width, image_row(older).thumbnail_widths) == (500, [160, 480])
    assert image_row(done).thumbnail_widths == [160]
    with Image.open(stored(app, images.thumbnail_key(older, 480))) as thumb:
        assert thumb.size == (480, 480)
    assert "Thumbnails made for 0 images" in run_cli("images", "thumbnails").stdout
