"""Console: the province's OCOP dashboard (charts and tables) and its XLSX export."""
from __future__ import annotations

import json

from flask import Response, request

from admin.console.shell import render
from core.accounts.security import current_user
from core.sales.province_dashboard import VIEWER_ROLES, figures_workbook, province_figures

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def add_pages(pages) -> None:
    pages.add_page("/dashboard", dashboard, endpoint="dashboard", roles=VIEWER_ROLES,
                   menu=("Số liệu tỉnh", "Province dashboard"), order=5)
    pages.add_page("/dashboard.xlsx", dashboard_xlsx, endpoint="dashboard_xlsx", roles=VIEWER_ROLES)


def _args() -> dict:
    year = request.args.get("year", "")
    province = (request.args.get("province") or "").strip()
    return {"province_code": province if province.isdigit() and len(province) <= 5 else None,
            "year": int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None}


def dashboard():
    figures = province_figures(current_user(), **_args())
    return render("console/dashboard.html", f=figures, chart_data=json.dumps(_chart_data(figures), ensure_ascii=False).replace("<", "\\u003c"))


def dashboard_xlsx():
    figures = province_figures(current_user(), **_args())
    name = f"ocop-{figures['province_code'] or 'all'}-{figures['year']}.xlsx"
    return Response(figures_workbook(figures), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _chart_data(f: dict) -> dict:
    """Only what the charts draw (the tables carry the rest)."""
    stars = f["products_by_stars"]["totals"]
    gmv = f["gmv_by_channel_month"]
    return {
        "stars": {"labels": ["3★", "4★", "5★"], "values": [stars.get("3", 0), stars.get("4", 0), stars.get("5", 0)]},
        "groups": {"labels": [g["name"] for g in f["products_by_group"]],
                   "values": [g["products"] for g in f["products_by_group"]]},
        "mix": {"labels": [m["name"] for m in f["producer_mix"]["forms"]],
                "values": [m["producers"] for m in f["producer_mix"]["forms"]]},
        "gmv": {"labels": gmv["months"],
                "series": [{"label": c["code"], "values": [r["gmv"] for r in gmv["rows"] if r["channel"] == c["code"]]}
                           for c in gmv["channels"]]},
    }
