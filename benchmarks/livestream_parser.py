#!/usr/bin/env python3
"""Livestream comment parser: per-intent precision/recall/F1 on the labelled corpora, and speed.

    python benchmarks/livestream_parser.py                 # both corpora, 20 timing passes
    python benchmarks/livestream_parser.py --passes 100

Scores come from ``plugins.livestream.evaluation`` (the same code the corpus test uses): the
main corpus (318 comments, written before the parser), its held-out third, and the 80 comments
written afterwards to break it. Speed: the main corpus parsed ``--passes`` times, each pass a
fresh session (so duplicates are found as in a real stream), one process. Lines are key=value.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.livestream.evaluation import evaluate, is_held_out  # noqa: E402
from plugins.livestream.parser import CommentStream, parse_comment  # noqa: E402
from plugins.livestream.showcase import compile_showcase  # noqa: E402

CORPORA = ROOT / "tests" / "livestream"


def print_scores(name: str, report) -> None:
    print(f"corpus={name} comments={len(report.scored)} accuracy={report.accuracy:.3f} "
          f"exact={report.exact_accuracy:.3f} phantom_orders={len(report.phantom_orders())}")
    for intent, row in report.per_intent().items():
        print(f"corpus={name} intent={intent} support={row['support']} predicted={row['predicted']} "
              f"precision={row['precision']:.3f} recall={row['recall']:.3f} f1={row['f1']:.3f}")


def time_parsing(passes: int) -> tuple[int, float]:
    showcase = compile_showcase(json.loads((CORPORA / "showcase.json").read_text(encoding="utf-8")))
    comments = [json.loads(line) for line in (CORPORA / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    for comment in comments:
        comment.pop("expected")
    started = time.perf_counter()
    for _ in range(passes):
        stream = CommentStream()
        for comment in comments:
            parse_comment(comment, showcase, stream)
    return passes * len(comments), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    main_report = evaluate(CORPORA / "corpus.jsonl", CORPORA / "showcase.json")
    print_scores("main", main_report)
    print_scores("main_held_out", main_report.subset(is_held_out))
    print_scores("unseen", evaluate(CORPORA / "corpus_unseen.jsonl", CORPORA / "showcase.json"))
    count, seconds = time_parsing(args.passes)
    print(f"comments={count} seconds={seconds:.2f} comments_per_s={count / seconds:.0f} "
          f"us_per_comment={seconds / count * 1e6:.0f}")


if __name__ == "__main__":
    main()
