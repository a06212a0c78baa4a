"""Generated feeds: build one (validated items, streamed, gzip, ETag), keep it with its report, serve it.

A build is reused while its *state key* holds — catalogue version (bumped by every listing change, so a
delisted product drops out at the next fetch), pricing state, the newest stock movement, the marketplace's
own settings and opt-ins, and the day. Otherwise the next fetch (or the beat task) builds it again.
"""
from __future__ import annotations

import datetime as dt
import gc
import gzip
import hashlib
import io
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flask import current_app
from sqlalchemy import func, select

from core import clock
from core.catalogue.version import current_version
from core.db import db, on_commit, utcnow
from core.errors import NotFound
from core.inventory.models import StockMovement
from core.pricing import version as pricing_version
from core.storage import storage
from plugins.marketplace_feeds import items as feed_items
from plugins.marketplace_feeds import local_inventory, validation, writers
from plugins.marketplace_feeds.models import FeedBuild, Marketplace
from plugins.marketplace_feeds.registry import by_feed_token

KEEP = 3  # builds kept per marketplace and format
GZIP_LEVEL = 3  # half the CPU of level 6 for a file about a quarter larger (still ~9× smaller than the feed)
MAX_REPORTED = 2000  # problems kept in a build's report (counts cover every item)


@dataclass(frozen=True)
class Format:
    content_type: str
    extension: str
    write: Callable
    per_store: bool = False


FORMATS = {"rss": Format("application/rss+xml; charset=utf-8", "xml", writers.write_google_rss),
           "tsv": Format("text/tab-separated-values; charset=utf-8", "tsv", writers.write_google_tsv),
           "csv": Format("text/csv; charset=utf-8", "csv", writers.write_meta_csv),
           "json": Format("application/json", "json", writers.write_json),
           "local_inventory": Format("text/tab-separated-values; charset=utf-8", "tsv",
                                     writers.write_local_inventory, per_store=True)}


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise NotFound("feed_format", "định dạng nguồn cấp", {"formats": list(FORMATS)})
    return FORMATS[name]


class HashingSink(io.RawIOBase):
    """A binary sink that hashes and counts what passes through it (the ETag is of the uncompressed feed)."""

    def __init__(self, raw):
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        self.sha.update(data)
        self.size += size
        self.raw.write(data)
        return size


@dataclass
class Report:
    items: int = 0
    refused: int = 0
    warnings: int = 0
    by_rule: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def add(self, problems: list[validation.Problem]) -> bool:
        """Count an item's problems; True when the item may be published."""
        if not problems:
            self.items += 1
            return True
        for p in problems:
            self.by_rule[p.rule] = self.by_rule.get(p.rule, 0) + 1
            if len(self.problems) < MAX_REPORTED:
                self.problems.append(p.as_dict())
        if validation.refused(problems):
            self.refused += 1
            return False
        self.warnings += bool(problems)
        self.items += 1
        return True

    def as_dict(self) -> dict:
        return {"items": self.items, "refused": self.refused, "items_with_warnings": self.warnings,
                "by_rule": self.by_rule, "problems": self.problems,
                "truncated": sum(self.by_rule.values()) > len(self.problems)}


def _heading(marketplace: Marketplace) -> dict:
    base = current_app.config["OCOP"].public_base_url.rstrip("/")
    return {"title": f"{marketplace.name} — sản phẩm OCOP", "link": base,
            "description": "Sản phẩm OCOP (3 sao trở lên) / OCOP-certified products (3 stars and above)"}


@contextmanager
def _few_collections():
    """Run less of CPython's cyclic collector while a feed is written.

    A build makes hundreds of thousands of short-lived objects and no garbage cycles: with the default
    thresholds the collector ran ~200 times per build and once over the whole app's heap, 0.3–0.4 s of
    CPU on this machine for nothing found. The thresholds are put back afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 20_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def write_feed(marketplace: Marketplace, fmt: str, sink, *, at: dt.datetime | None = None,
               progress=None) -> tuple[Report, str, int]:
    """Write the feed ``fmt`` of ``marketplace`` to the binary ``sink``; ``(report, sha256 hex, bytes)``."""
    spec = get_format(fmt)
    at = at or clock.now()
    with _few_collections():
        return _write(marketplace, spec, sink, at, progress)


def _write(marketplace: Marketplace, spec: Format, sink, at: dt.datetime, progress) -> tuple[Report, str, int]:
    report = Report()
    hashing = HashingSink(sink)
    if spec.per_store:
        def counted():
            for row in local_inventory.iter_rows(marketplace, at, progress):
                report.items += 1
                yield row
        spec.write(counted(), hashing)
    else:
        valid = (item for item in feed_items.iter_items(marketplace, at, progress)
                 if report.add(validation.check(item)))
        spec.write(valid, hashing, **_heading(marketplace))
    return report, hashing.sha.hexdigest(), hashing.size


def state_key(marketplace: Marketplace, fmt: str, at: dt.datetime) -> str:
    """What a build depends on; a build whose key differs from the current one is stale."""
    newest_movement = db.session.execute(select(func.max(StockMovement.id))).scalar() or 0
    pricing = ",".join(str(part) for part in pricing_version.cache_key(at))
    return (f"{fmt}|c{current_version()}|p{pricing}|s{newest_movement}|m{marketplace.updated_at.isoformat()}"
            f"|{marketplace.feed_token[:6]}|{clock.today().isoformat()}")[:300]


def latest_build(marketplace: Marketplace, fmt: str) -> FeedBuild | None:
    return db.session.execute(select(FeedBuild).where(FeedBuild.marketplace_id == marketplace.id,
                                                      FeedBuild.format == fmt)
                              .order_by(FeedBuild.id.desc()).limit(1)).scalar_one_or_none()


def _feeds_root() -> Path:
    return storage().root


def build(marketplace: Marketplace, fmt: str, *, at: dt.datetime | None = None, progress=None) -> FeedBuild:
    """Generate the feed into the instance storage (gzip) and record it with its report. Flushes.

    When the content is the same as the latest build's (same ETag) that build is kept (its
    ``Last-Modified`` stays) and only its state key moves on.
    """
    get_format(fmt)
    at = at or clock.now()
    key = state_key(marketplace, fmt, at)
    storage_key = f"feeds/{marketplace.code}/{fmt}-{secrets.token_hex(8)}.gz"
    path = storage().path(storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with gzip.open(path, "wb", compresslevel=GZIP_LEVEL) as gz:
        report, sha, size = write_feed(marketplace, fmt, gz, at=at, progress=progress)
    etag = f'"{sha[:40]}"'
    latest = latest_build(marketplace, fmt)
    if latest is not None and latest.etag == etag and storage().path(latest.storage_key).exists():
        path.unlink(missing_ok=True)
        latest.state_key = key
        db.session.flush()
        return latest
    row = FeedBuild(marketplace_id=marketplace.id, format=fmt, state_key=key, etag=etag, storage_key=storage_key,
                    size_bytes=size, items=report.items, refused=report.refused, problems=report.as_dict(),
                    build_ms=int((time.perf_counter() - started) * 1000), built_at=utcnow().replace(microsecond=0))
    db.session.add(row)
    db.session.flush()
    _prune(marketplace, fmt)
    return row


def _prune(marketplace: Marketplace, fmt: str) -> None:
    old = db.session.execute(select(FeedBuild).where(FeedBuild.marketplace_id == marketplace.id,
                                                     FeedBuild.format == fmt)
                             .order_by(FeedBuild.id.desc()).offset(KEEP)).scalars().all()
    keys = [b.storage_key for b in old]
    for b in old:
        db.session.delete(b)
    db.session.flush()
    root = storage()
    on_commit(lambda: [root.delete(k) for k in keys])


def current_build(marketplace: Marketplace, fmt: str, at: dt.datetime | None = None) -> FeedBuild:
    """The latest build if it is still current, else a new one."""
    at = at or clock.now()
    latest = latest_build(marketplace, fmt)
    if (latest is not None and latest.state_key == state_key(marketplace, fmt, at)
            and storage().path(latest.storage_key).exists()):
        return latest
    return build(marketplace, fmt, at=at)


@dataclass
class Served:
    build: FeedBuild
    path: Path
    content_type: str
    not_modified: bool


def serve(token: str, fmt: str, if_none_match: str | None, if_modified_since: dt.datetime | None) -> Served:
    """The feed behind a secret URL: current build, or ``not_modified`` for a matching ETag / date."""
    marketplace = by_feed_token(token)
    spec = get_format(fmt)
    row = current_build(marketplace, fmt)
    if if_none_match is not None:
        tags = {t.strip() for t in if_none_match.split(",")}
        not_modified = row.etag in tags or f"W/{row.etag}" in tags or "*" in tags
    else:
        not_modified = bool(if_modified_since and row.built_at <= if_modified_since)
    return Served(row, storage().path(row.storage_key), spec.content_type, not_modified)


def feed_urls(marketplace: Marketplace) -> dict[str, str]:
    base = current_app.config["OCOP"].public_base_url.rstrip("/")
    return {fmt: f"{base}/storefront/v1/feeds/{marketplace.feed_token}/{fmt}" for fmt in FORMATS}
