"""Self-contained human-readable API docs at ``/docs`` (no CDN needed), rendered from the OpenAPI spec."""
from __future__ import annotations

from html import escape

from flask import Response

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
          "code{background:#f3f3f3;padding:.1rem .3rem}.m{font-weight:bold;display:inline-block;width:4.5rem}"
          "section{border-top:1px solid #ddd;padding:.5rem 0}small{color:#555}")


def register_docs(app, api) -> None:
    @app.get("/docs")
    def docs():
        """API documentation generated from /openapi.json."""
        spec = api.spec.to_dict()
        parts = [f"<!doctype html><meta charset=utf-8><title>ocop-commerce API</title><style>{_STYLE}</style>",
                 "<h1>ocop-commerce API</h1><p>Machine-readable spec: <a href='/openapi.json'>/openapi.json</a>. "
                 "Errors: <code>{\"error\": {\"code\", \"message\", \"message_en\", \"details\"}}</code>.</p>"]
        for path, operations in sorted(spec.get("paths", {}).items()):
            for method, op in operations.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                summary = escape(op.get("summary", ""))
                description = escape(op.get("description", "")).replace("\n", "<br>")
                parts.append(f"<section><span class=m>{method.upper()}</span><code>{escape(path)}</code> "
                             f"{summary}<br><small>{description}</small></section>")
        return Response("".join(parts), mimetype="text/html")
