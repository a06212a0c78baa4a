"""Outgoing HTTP for webhook deliveries: URL rules, address checks, timeouts and a bounded response read.

Only ``http``/``https`` URLs without credentials are accepted. Unless ``OCOP_WEBHOOKS_ALLOW_PRIVATE=1``,
targets resolving to loopback, private, link-local or otherwise non-public addresses are refused, and the
connection goes to the address that was checked (no second DNS answer). Redirects are not followed.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
RESPONSE_EXCERPT_BYTES = 1024


class UrlRefused(ValueError):
    """A subscription URL or target address the rules refuse (``code``, Vietnamese and English text)."""

    def __init__(self, code: str, message: str, message_en: str):
        super().__init__(message_en)
        self.code, self.message, self.message_en = code, message, message_en


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allow_private: bool) -> str:
    """Return ``url`` if a subscription may use it, else raise :class:`UrlRefused`."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise UrlRefused("webhook.url_invalid", "URL không hợp lệ.", "The URL is not valid.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("webhook.url_invalid", "URL không hợp lệ.", "The URL is not valid.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("webhook.url_scheme", "Chỉ chấp nhận URL http hoặc https.", "Only http and https URLs are accepted.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("webhook.url_credentials", "URL không được chứa tên đăng nhập hoặc mật khẩu.",
                         "The URL must not contain a user name or password.")
    if not parts.hostname:
        raise UrlRefused("webhook.url_invalid", "URL thiếu tên máy chủ.", "The URL has no host.")
    if parts.fragment:
        raise UrlRefused("webhook.url_invalid", "URL không được có phần #fragment.", "The URL must not have a #fragment.")
    if port == 0:
        raise UrlRefused("webhook.url_invalid", "Cổng không hợp lệ.", "The port is not valid.")
    if not allow_private:
        host = parts.hostname
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if host == "localhost" or host.endswith(".localhost") or (literal is not None and not _public(str(literal))):
            raise UrlRefused("webhook.url_private", "Không được gửi webhook tới địa chỉ nội bộ.",
                             "Webhooks may not target a private or loopback address.")
    return url


@dataclass
class Outcome:
    """What one HTTP attempt gave: a status code or an error, an excerpt of the answer, the time taken."""

    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _resolve(host: str, port: int, allow_private: bool) -> str:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise OSError(f"no address for {host}")
    if not allow_private:
        refused = [a for a in addresses if not _public(a)]
        if refused:
            raise UrlRefused("webhook.url_private", "Địa chỉ đích là địa chỉ nội bộ.",
                             f"{host} resolves to a non-public address ({refused[0]}).")
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> Outcome:
    """POST ``body`` once; never raises. ``timeout`` bounds the connection and each read."""
    started = time.monotonic()

    def done(status=None, error=None, excerpt=None) -> Outcome:
        return Outcome(status, error and error[:500], excerpt, int((time.monotonic() - started) * 1000))

    try:
        check_url(url, allow_private)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _resolve(parts.hostname, port, allow_private)
        cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = cls(parts.hostname, port, address, timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                            "User-Agent": "ocop-commerce-webhooks/1",
                                                            **headers})
            response = conn.getresponse()
            excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", "replace")
            return done(status=response.status, excerpt=excerpt or None,
                        error=None if 200 <= response.status < 300 else f"HTTP {response.status}")
        finally:
            conn.close()
    except UrlRefused as exc:
        return done(error=f"refused: {exc.message_en}")
    except socket.timeout:
        return done(error=f"timeout after {timeout:g} s")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return done(error=f"{type(exc).__name__}: {exc}")
