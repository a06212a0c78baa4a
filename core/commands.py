"""Helpers for ``ocop`` sub-commands of any domain or plugin: the app of the running command.

The CLI root (:mod:`core.cli`, part of the composition root) stores an app
factory in the root click context; commands reach the app through
:func:`command_app` or :func:`with_app`, so no domain imports the root.
Each command owns its unit of work: :func:`with_app` commits when the command
returns and rolls back when it raises.
"""
from __future__ import annotations

import functools

import click

from core.db import commit, db

APP_FACTORY = "app_factory"


def command_app(factory=None):
    """The Flask app of the running ``ocop`` command, built on first use by ``factory`` (default: the root's,
    an app without HTTP faces; ``ocop serve`` passes the web app's)."""
    root = click.get_current_context().find_root()
    if "app" not in root.meta:
        root.meta["app"] = (factory or root.meta[APP_FACTORY])(plugin_manager=root.meta.get("pm"))
    return root.meta["app"]


def with_app(func):
    """Run the command inside an app context; commit its work (then run the after-commit hooks) when it
    returns, roll back when it raises."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with command_app().app_context():
            try:
                result = func(*args, **kwargs)
                commit()
                return result
            except BaseException:
                db.session.rollback()
                raise
    return wrapper
