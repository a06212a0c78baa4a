"""Web console helpers for tests: log in with a session cookie, post forms with the session's CSRF token."""
from __future__ import annotations

import re

DEMO_PASSWORD = "ocop-demo-2026"


def csrf(client) -> str:
    """The session's CSRF token (a GET of the login page makes one)."""
    with client.session_transaction() as session:
        token = session.get("csrf")
    if token:
        return token
    page = client.get("/console/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def console_login(client, username: str, password: str = DEMO_PASSWORD):
    """Log ``client`` in to the console; returns the login answer (302 on success)."""
    token = csrf(client)
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST a console form with the session's CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client)}, **kwargs)


def console_as(app, username: str, password: str = DEMO_PASSWORD):
    """A test client of ``app`` logged in to the console as ``username``."""
    client = app.test_client()
    assert console_login(client, username, password).status_code == 302
    return client


def browser_log_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log a Playwright ``page`` in to the console served at ``base``."""
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/console/login" not in page.url, page.content()[:500]
