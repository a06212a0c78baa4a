"""A local HTTP listener that records what the real ``elasticsearch`` client sends and answers ES-shaped JSON.

It is not a search engine: it keeps only the alias → index table needed to
answer alias lookups, echoes bulk items, and returns whatever canned
``_search`` answer a test configured. Every answer carries
``X-Elastic-Product: Elasticsearch`` (the 8.x/9.x client refuses servers
without it). Bound to 127.0.0.1 on a free port, served from a thread.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    body: object  # parsed JSON, a list of parsed NDJSON lines, or None

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Listener:
    """State shared with the handler: recorded requests, aliases, canned answers."""

    requests: list[Recorded] = field(default_factory=list)
    aliases: dict[str, list[str]] = field(default_factory=dict)  # alias -> indices
    search_answer: dict | None = None
    bulk_fail_ids: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def lines(self) -> list[str]:
        return [r.line for r in self.requests]

    def clear(self) -> None:
        self.requests.clear()

    def start(self) -> "Listener":
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self, status: int, payload=None) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = None
                if raw:
                    text = raw.decode()
                    if parts.path.endswith("/_bulk"):
                        body = [json.loads(line) for line in text.splitlines() if line.strip()]
                    else:
                        body = json.loads(text)
                record = Recorded(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}, body)
                listener.requests.append(record)
                status, payload = listener.respond(record)
                self._answer(status, payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # canned Elasticsearch behaviour ----------------------------------------------------------
    def respond(self, r: Recorded):
        path, segments = r.path, [s for s in r.path.split("/") if s]
        ack = {"acknowledged": True}
        if path == "/":
            return 200, {"name": "listener", "cluster_name": "test", "version": {"number": "9.0.0",
                                                                                  "build_flavor": "default"},
                         "tagline": "You Know, for Search"}
        if segments[0] == "_index_template":
            return 200, ack
        if segments[0] == "_alias":
            indices = self.aliases.get(segments[1], [])
            if not indices:
                return 404, {"error": f"alias [{segments[1]}] missing", "status": 404}
            return 200, {index: {"aliases": {segments[1]: {}}} for index in indices}
        if segments[0] == "_aliases":
            for action in r.body["actions"]:
                (kind, spec), = action.items()
                members = self.aliases.setdefault(spec["alias"], [])
                if kind == "remove" and spec["index"] in members:
                    members.remove(spec["index"])
                elif kind == "add":
                    members.append(spec["index"])
            return 200, ack
        if segments[-1] == "_bulk":
            return 200, self._bulk(r.body)
        if segments[-1] == "_search":
            answer = self.search_answer or {"took": 1, "timed_out": False, "hits": {"total": {"value": 0,
                                                                                               "relation": "eq"},
                                                                                     "hits": []}}
            return 200, answer
        if segments[-1] == "_count":
            return 200, {"count": 7}
        if segments[-1] == "_settings":
            return 200, ack
        if segments[-1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if r.method == "PUT" and len(segments) == 1:
            for alias in ((r.body or {}).get("aliases") or {}):
                self.aliases.setdefault(alias, []).append(segments[0])
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": segments[0]}
        if r.method == "DELETE" and len(segments) == 1:
            return 200, ack
        return 404, {"error": f"no canned answer for {r.line}", "status": 404}

    def _bulk(self, lines: list) -> dict:
        items, errors, i = [], False, 0
        while i < len(lines):
            (op, meta), = lines[i].items()
            i += 1 if op == "delete" else 2
            item = {"_index": meta["_index"], "_id": meta["_id"], "_version": 1}
            if op == "delete":
                item.update(status=404, result="not_found")
            elif meta["_id"] in self.bulk_fail_ids:
                item.update(status=400, error={"type": "document_parsing_exception", "reason": "test refusal"})
                errors = True
            else:
                item.update(status=201, result="created")
            items.append({op: item})
        return {"took": 3, "errors": errors, "items": items}
