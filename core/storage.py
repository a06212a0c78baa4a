"""A small storage interface for uploaded files; the default keeps them in the instance folder."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app


class LocalStorage:
    """Stores files under ``<instance>/media``; keys are relative paths."""

    def __init__(self, root: Path):
        self.root = root

    def save(self, data: bytes, extension: str, prefix: str = "") -> str:
        key = f"{prefix}{secrets.token_hex(12)}.{extension}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return key

    def path(self, key: str) -> Path:
        resolved = (self.root / key).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError("key escapes the storage root")
        return resolved

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def storage() -> LocalStorage:
    return LocalStorage(current_app.config["OCOP"].instance_path / "media")
