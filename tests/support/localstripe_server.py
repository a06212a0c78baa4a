"""Run a private localstripe (fake Stripe API) server for tests.

Usage: ``with start_localstripe() as ls:`` (or call ``ls.stop()`` yourself),
then point the stripe SDK at ``ls.api_base``. Runs in a subprocess.

Facts verified (localstripe 1.15.10, stripe-python 16.1, Python 3.11):
- Point the SDK at it with ``StripeClient(key, base_addresses={"api": api_base})``
  (the ``client.v1.*`` namespaces work: payment_intents create/retrieve/confirm/
  capture/cancel/list, refunds.create, customers, events.list) or module-level
  ``stripe.api_key = key; stripe.api_base = api_base``. Plain http is accepted.
- Auth: any key starting with "sk_" (> 5 chars, even "sk_live_x"); "pk_"/"rk_"
  keys get 401 AuthenticationError. ``search`` endpoints are 404.
- No currency logic: amount=150000, currency="vnd" is stored and returned
  verbatim, matching Stripe's zero-decimal VND (pass whole dong, not x100).
- payment_method must be set at create time ("pm_card_visa"); ``confirm`` with
  a payment_method param is a 500 APIError "Not implemented". create(confirm=True)
  works. Confirm is synchronous: requires_confirmation -> succeeded.
- ``pi.latest_charge`` comes back expanded (a Charge object, not an id).
- "pm_card_chargeCustomerFail" -> CardError 402 code "card_declined" and status
  requires_payment_method; "pm_card_visa_chargeDeclined" SUCCEEDS here.
- capture_method="manual" -> requires_capture -> capture() -> succeeded.
- refunds.create(payment_intent=..., amount=optional) -> "succeeded" at once;
  refunds emit no webhook events (no charge.refunded).
- Webhooks arrive ~1.0 s after the API call (localstripe sleeps 1 s), only
  payment_intent.succeeded / payment_intent.payment_failed for intents, with a
  ``Stripe-Signature: t=...,v1=...`` header that ``stripe.Webhook.construct_event(
  raw_body, sig, secret)`` (and ``client.construct_event``) verifies; event
  api_version is "2017-08-15". ``events`` filters work; reset() keeps webhooks.
- stripe 16 objects are not dicts: use attributes or ["key"], not ``.get``.
- Each server is its own process (state isolated, xdist-safe, ~0.3 s start);
  localstripe's pickling of its store to /tmp/localstripe.pickle is disabled.
"""

from __future__ import annotations

import importlib.util
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["LocalStripe", "LocalStripeUnavailable", "start_localstripe"]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalStripeUnavailable(ImportError):
    """localstripe (or aiohttp) is not installed in this interpreter."""


# Runs in the child process. localstripe's own CLI binds "::" on a fixed
# port; we bind 127.0.0.1 on an ephemeral port and report it on stdout.
_CHILD_SCRIPT = r"""
import os, socket, sys, threading
from aiohttp import web
from localstripe import server
from localstripe.resources import store

store.dump_to_disk = lambda: None  # no shared /tmp/localstripe.pickle writes

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)

def exit_when_parent_goes_away():  # stdin hits EOF when the parent dies
    sys.stdin.read()
    os._exit(0)

threading.Thread(target=exit_when_parent_goes_away, daemon=True).start()
web.run_app(server.app, sock=sock, print=None, access_log=None)
"""


class LocalStripe:
    """Handle on a running localstripe subprocess."""

    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self._process = process
        self.port = port
        self.api_base = f"http://127.0.0.1:{port}"

    def _request(self, method: str, path: str, form=None) -> int:
        body = urllib.parse.urlencode(form).encode() if form else None
        req = urllib.request.Request(self.api_base + path, data=body, method=method)
        with _NO_PROXY.open(req, timeout=5) as resp:
            return resp.status

    def reset(self) -> None:
        """Forget all objects (customers, intents, ...). Webhooks are kept."""
        self._request("DELETE", "/_config/data")

    def register_webhook(self, id: str, url: str, secret: str,
                         events: list[str] | None = None) -> None:
        """Make localstripe POST signed events to `url` (all types by default)."""
        form = [("url", url), ("secret", secret)]
        form += [("events[]", e) for e in events or ()]
        self._request("POST", f"/_config/webhooks/{urllib.parse.quote(id)}", form)

    def stop(self) -> None:
        """Terminate the server process (idempotent)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream and not stream.closed:
                stream.close()

    def __enter__(self) -> "LocalStripe":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_localstripe(timeout: float = 15.0) -> LocalStripe:
    """Start localstripe on 127.0.0.1:<free port> and wait until it answers."""
    for module in ("localstripe", "aiohttp"):
        if importlib.util.find_spec(module) is None:
            raise LocalStripeUnavailable(
                f"{module!r} is not installed; `pip install localstripe` "
                "(it is in the 'dev' extra) to run Stripe tests")
    errors = tempfile.TemporaryFile(mode="w+")  # the child's stderr, quoted if it fails (xdist shows no stderr)
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD_SCRIPT],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True)
    handle = None

    def failure(what: str, line: str = "") -> RuntimeError:
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            pass
        errors.seek(0)
        tail = " | ".join(errors.read().strip().splitlines()[-5:])
        said = f"; it printed {line.strip()!r}" if line.strip() else ""
        return RuntimeError(f"localstripe {what} (exit code {process.poll()}{said}); its stderr: "
                            f"{tail or '(nothing)'}. Is the 'dev' extra installed (pip install localstripe)?")

    try:
        if not select.select([process.stdout], [], [], timeout)[0]:
            raise failure("did not report its port in time")
        line = process.stdout.readline()  # "" if the child died early
        if not line.strip().isdigit():
            raise failure("failed to start", line)
        handle = LocalStripe(process, int(line))
        deadline = time.monotonic() + timeout
        while True:
            try:
                handle._request("GET", "/js.stripe.com/v3/")
                return handle
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"localstripe not answering on "
                                       f"{handle.api_base}") from None
                time.sleep(0.05)
    except BaseException:
        (handle or LocalStripe(process, 0)).stop()
        raise
