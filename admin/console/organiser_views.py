"""Console: the producer verification queue, certifications to watch, catalogue imports with the per-row report."""
from __future__ import annotations

from flask import redirect, request, url_for

from admin.console.producer_views import _page_number
from admin.console.shell import error_text, render
from core import clock
from core.accounts.security import current_user
from core.catalogue import producers
from core.certification.watchlist import EXPIRING_WITHIN_DAYS, WATCH_STATES, watched_certifications
from core.errors import DomainError
from core.imports import catalogue_import, formats as import_formats
from core.imports.access import IMPORT_ROLES

VERIFIER_ROLES = ("admin", "organiser")
PAGE_SIZE = 50


def add_pages(pages) -> None:
    pages.add_page("/producers/verification", verification_queue, endpoint="verification", roles=VERIFIER_ROLES,
                   menu=("Xác minh chủ thể", "Producer verification"), order=40)
    pages.add_page("/producers/<int:producer_id>/status", set_producer_status, endpoint="producer_status",
                   roles=VERIFIER_ROLES, methods=("POST",))
    pages.add_page("/certifications", certifications, endpoint="certifications",
                   roles=("admin", "organiser", "certifier"), menu=("Chứng nhận OCOP", "Certifications"), order=50)
    pages.add_page("/imports", imports, endpoint="imports", roles=IMPORT_ROLES, methods=("GET", "POST"),
                   menu=("Nhập dữ liệu", "Imports"), order=60)


def verification_queue():
    """Producers waiting for verification in the organiser's province (admins: everywhere)."""
    page = producers.list_producers(current_user(), {"status": "pending", "page": _page_number(), "limit": PAGE_SIZE})
    return render("console/verification.html", producers=page["results"], total=page["total"],
                  done=request.args.get("done"))


def set_producer_status(producer_id: int):
    """Verify or reject one producer (the catalogue's onboarding service); htmx gets the updated row."""
    status = request.form.get("status")
    producer = producers.get_producer(producer_id)
    try:
        producers.set_status(current_user(), producer, status, request.form.get("reason") or None)
    except DomainError as exc:
        if request.headers.get("HX-Request"):
            return render("console/_producer_row.html", exc.status, producer=producer, error=error_text(exc))
        raise
    if request.headers.get("HX-Request"):
        return render("console/_producer_row.html", producer=producer)
    return redirect(url_for("console.verification", done=producer.id))


def certifications():
    state = request.args.get("state", "expiring")
    if state not in WATCH_STATES:
        state = "expiring"
    today = clock.today()
    rows = watched_certifications(current_user(), state, today)
    return render("console/certifications.html", rows=rows, state=state, states=WATCH_STATES, today=today,
                  window=EXPIRING_WITHIN_DAYS)


def imports():
    """Upload a CSV/XLSX catalogue file: check it (dry run) or import it, all or nothing; errors per row."""
    if request.method == "GET":
        return render("console/imports.html")
    upload = request.files.get("file")
    dry_run = request.form.get("dry_run") == "on"
    if upload is None or not upload.filename:
        return render("console/imports.html", 422, error=error_text(DomainError(
            "import.no_file", "Hãy chọn tệp CSV hoặc XLSX.", "Choose a CSV or XLSX file.")))
    try:
        table = import_formats.read_table(upload.read(), upload.filename)
        result = catalogue_import.run_import(current_user(), table, dry_run=dry_run, source=upload.filename)
    except DomainError as exc:  # nothing written; the report lists each failing row
        return render("console/imports.html", exc.status, error=error_text(exc),
                      row_errors=(exc.details or {}).get("rows", []), filename=upload.filename)
    return render("console/imports.html", result=result, filename=upload.filename)
