"""A real browser for the web pages: Playwright driving Debian's Chromium, against the app on a real port.

``live_server`` serves the test app (the same database as the ``app`` fixture) on 127.0.0.1 with a
threaded werkzeug server; ``browser`` is one headless Chromium per test process (``OCOP_CHROMIUM``,
default ``/usr/bin/chromium``; ``.ci/run`` installs Debian's ``chromium``); ``page`` is a fresh context
(Vietnamese locale, Vietnam time) per test. ``screenshot(page, name)`` keeps a PNG in the artefact
folder (``OCOP_TEST_ARTIFACTS``, default ``.artifacts/`` at the checkout's root).
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from support.services import need_service

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("OCOP_TEST_ARTIFACTS") or ROOT / ".artifacts")


def chromium_path() -> str | None:
    path = os.environ.get("OCOP_CHROMIUM") or "/usr/bin/chromium"
    return path if os.path.exists(path) else shutil.which("chromium")


@pytest.fixture
def live_server(app):
    """Base URL of the app served on a free loopback port for the test's duration."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the test process."""
    path = chromium_path()
    need_service("chromium", path is not None, "install Debian's chromium (apt-get install chromium) "
                 "or set OCOP_CHROMIUM to a Chromium binary")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # the dev extra installs it
        need_service("playwright", False, "pip install playwright (the dev extra)")
    playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(executable_path=path, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
    except Exception as exc:
        playwright.stop()
        need_service("chromium", False, f"Chromium at {path} did not start: {exc}")
    try:
        yield instance
    finally:
        instance.close()
        playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh browser context and page (vi-VN, Asia/Ho_Chi_Minh, no proxy) for one test."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page_without_js(browser):
    """A page with JavaScript disabled: what a cheap phone or a strict network sees."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", java_script_enabled=False)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as a test artefact; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
