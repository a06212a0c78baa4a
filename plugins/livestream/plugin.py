"""Hook implementations of the ``livestream`` plugin (entry point ``livestream = plugins.livestream.plugin``)."""
from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.livestream import cli as livestream_cli


@hookimpl
def register_cli(cli):
    """``ocop livestream parse-comments`` reads comment JSONL against a showcase (no database)."""
    livestream_cli.register(cli)
