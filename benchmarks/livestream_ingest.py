#!/usr/bin/env python3
"""Livestream comment ingestion: batches of comments stored, parsed and folded into drafts, in process.

    python benchmarks/livestream_ingest.py                  # 40 batches of 50 on a temporary SQLite file
    python benchmarks/livestream_ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Each batch re-reads the session's stored comments (duplicate memory, draft folding), so a batch costs
more as the session grows: the first and last batch times are printed. Lines are key=value.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    # imported after sys.path is set (the benchmark runs from a checkout)
    from core.app import create_app
    from core.config import load_settings
    from core import migrate
    from core.db import db
    from core.demo import seed_demo
    from plugins.livestream import comments, demo
    instance = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{instance / 'bench.sqlite3'}"
    app = create_app(load_settings({}, instance_path=instance, database_url=url))
    with app.app_context():
        migrate.upgrade()
        seed_demo()
        session_id = demo.seed_demo_session()["session_id"]
        db.session.commit()
        session = db.session.get(demo.LivestreamSession, session_id)
        texts = [c["text"] for c in demo.recorded_comments()]
        times, n = [], 0
        start = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.timezone.utc)
        for batch in range(args.batches):
            items = []
            for _ in range(args.size):
                n += 1
                items.append({"id": f"bench-{n}", "author_id": f"viewer-{n % 400}", "author_name": None,
                              "text": texts[n % len(texts)], "created_at": (start + dt.timedelta(seconds=n)).isoformat()})
            began = time.perf_counter()
            comments.ingest(session, items)
            db.session.commit()
            times.append(time.perf_counter() - began)
        total = sum(times)
        print(f"database={'postgresql' if url.startswith('postgres') else 'sqlite'} batches={args.batches} "
              f"batch_size={args.size} comments={n}")
        print(f"first_batch_ms={times[0] * 1000:.1f} last_batch_ms={times[-1] * 1000:.1f} "
              f"comments_per_s={n / total:.0f}")


if __name__ == "__main__":
    main()
