"""Console: log in, log out, switch language, the home page."""
from __future__ import annotations

from flask import redirect, request, session, url_for

from admin.console.shell import ALL_ROLES, LANGUAGES, csrf_token, error_text, render, safe_next
from core.accounts import authentication as accounts
from core.accounts.security import current_user
from core.errors import DomainError

#: where each role lands after logging in (the first menu page it has)
HOME_BY_ROLE = {"producer": "console.products", "organiser": "console.dashboard", "admin": "console.dashboard",
                "certifier": "console.certifications", "operator": "console.home"}


def add_pages(pages) -> None:
    bp = pages.blueprint("console")
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
    bp.add_url_rule("/lang", "set_language", set_language, methods=["POST"])
    pages.add_page("/", home, endpoint="home", roles=ALL_ROLES, menu=("Trang chính", "Home"), order=0)


def login():
    """The login form; a success stores the API's session token in the (signed) session cookie."""
    next_url = request.values.get("next")
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(next_url))
        return render("console/login.html", next=next_url)
    username = (request.form.get("username") or "").strip()
    try:
        raw, _token = accounts.login(username, request.form.get("password") or "")
    except DomainError as exc:  # wrong password, locked account: same throttling as the API
        return render("console/login.html", exc.status, error=error_text(exc), username=username, next=next_url)
    language = session.get("lang")
    session.clear()
    session["token"] = raw
    if language:
        session["lang"] = language
    csrf_token()  # a fresh CSRF token for the new session
    return redirect(safe_next(next_url))


def logout():
    """Revoke the session's token and forget the session."""
    raw = session.get("token")
    if raw:
        try:
            accounts.revoke_token(raw)
        except DomainError:  # already gone
            pass
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("console.login"))


def set_language():
    """Switch between Vietnamese and English; back to the page the user was on."""
    value = request.form.get("lang")
    if value in LANGUAGES:
        session["lang"] = value
    return redirect(safe_next(request.form.get("next")))


def home():
    """Each role's start page: its menu as cards (operators: their tills)."""
    user = current_user()
    target = HOME_BY_ROLE.get(user.role)
    if target and target != "console.home":
        return redirect(url_for(target))
    return render("console/home.html")
