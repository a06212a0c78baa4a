"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request, answers as scripted.

``receiver.script(500, "timeout", 200)`` sets the answers of the next requests (then ``default``):
an int is a status code, ``"timeout"`` holds the answer ``hold_seconds`` (longer than the sender's
timeout), ``("big", n)`` answers 200 with an ``n``-byte body.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, hold_seconds: float = 2.0):
        self.requests: list[dict] = []
        self.default = 200
        self.hold_seconds = hold_seconds
        self._script: deque = deque()
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    answer = receiver._script.popleft() if receiver._script else receiver.default
                    receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "answer": answer, "at": time.time()})
                    receiver._lock.notify_all()
                if answer == "timeout":
                    time.sleep(receiver.hold_seconds)
                    answer = 200
                payload = b'{"ok": true}'
                if isinstance(answer, tuple) and answer[0] == "big":
                    payload, answer = b"x" * answer[1], 200
                try:
                    self.send_response(answer)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the sender gave up (timeout)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ocop"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def script(self, *answers) -> None:
        with self._lock:
            self._script.extend(answers)

    def wait_for(self, count: int, seconds: float = 30.0) -> list[dict]:
        """Block until ``count`` requests arrived (fails the test after ``seconds``)."""
        deadline = time.monotonic() + seconds
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver got {len(self.requests)} requests, expected {count}")
                self._lock.wait(left)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify_webhook(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> dict:
    """The receiver-side check from the README (kept independent of the plugin's own signing code)."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        raise ValueError("timestamp too old or in the future")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
    if not any(hmac.compare_digest(f"v1,{expected}", sig) for sig in headers["webhook-signature"].split()):
        raise ValueError("bad signature")
    return json.loads(body)
