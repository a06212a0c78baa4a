"""Hook implementations of the ``livestream`` plugin (entry point ``livestream = plugins.livestream.plugin``)."""
from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_cli(cli):
    """``ocop livestream parse-comments`` parses comment JSONL against a showcase (no database)."""
    from plugins.livestream import cli as livestream_cli
    livestream_cli.register(cli)
