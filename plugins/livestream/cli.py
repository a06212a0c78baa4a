"""``ocop livestream parse-comments``: comment JSONL on stdin → one contract JSON line per input line."""
from __future__ import annotations

import json
import sys

import click

from core.commands import with_app
from plugins.livestream import demo
from plugins.livestream.parser import CommentStream, ParseResult, parse_comment
from plugins.livestream.showcase import ShowcaseError, compile_showcase


def register(cli: click.Group) -> None:
    """Add the ``livestream`` group to the root ``ocop`` command."""
    cli.add_command(livestream)


@click.group("livestream")
def livestream():
    """Livestream selling (plugin): reading order comments, the demo session."""


@livestream.command("parse-comments")
@click.option("--showcase", "showcase_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="SHOWCASE.json: [{code, name, price, variants: [{sku, name}]}]")
@click.option("--explain", is_flag=True, help="Add a 'reason' key saying why a comment is review/duplicate.")
def parse_comments(showcase_path, explain):
    """Read comment JSONL on stdin, print {"id", "intent", "lines", "phone"} per line, in input order."""
    try:
        with open(showcase_path, encoding="utf-8") as handle:
            showcase = compile_showcase(json.load(handle))
    except (ValueError, ShowcaseError) as exc:
        raise click.BadParameter(f"{exc}", param_hint="--showcase") from exc
    stream, out = CommentStream(), sys.stdout.buffer
    for raw in sys.stdin.buffer:  # bytes: any encoding trouble is one bad line, not a crash
        result = parse_line(raw, showcase, stream)
        line = result.as_contract()
        if explain and result.reason:
            line["reason"] = result.reason
        out.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


def parse_line(raw: bytes | str, showcase, stream: CommentStream) -> ParseResult:
    """One JSONL line: invalid JSON becomes an ``other`` result with an error, never an exception."""
    try:
        comment = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, RecursionError):
        return ParseResult(None, "other", error="livestream.invalid_json")
    return parse_comment(comment, showcase, stream)


@livestream.command("seed-demo")
@with_app
def seed_demo():
    """Load the recorded demo livestream over the core demo catalogue (run ``ocop demo`` first; idempotent)."""
    click.echo(json.dumps(demo.seed_demo_session(), ensure_ascii=False))
