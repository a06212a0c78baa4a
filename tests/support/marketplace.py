"""Helpers for the marketplace feeds tests: the demo marketplaces, their secret feed paths."""
from __future__ import annotations

from urllib.parse import urlsplit

BASE = "/admin/v1/marketplaces"


def seed_marketplaces() -> dict:
    """The plugin's demo marketplaces (Google, Shopee, Postmart) and its marketplace campaign, committed."""
    from core.db import commit
    from plugins.marketplace_feeds.demo import seed_demo_marketplaces
    result = seed_demo_marketplaces()
    commit()
    return result


def feed_path(client, headers, marketplace_id: int, fmt: str = "rss") -> str:
    """The path part of a marketplace's secret feed URL (read as an admin)."""
    body = client.get(f"{BASE}/{marketplace_id}", headers=headers).get_json()
    return urlsplit(body["feed_urls"][fmt]).path
