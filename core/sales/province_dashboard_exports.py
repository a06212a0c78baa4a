"""The province dashboard's figures as files: an XLSX workbook (one sheet per table) and a PDF report (the
6-monthly and yearly reports due before 10 May and 15 Nov), both in Vietnamese, built on the server.

The PDF uses a system TrueType font with Vietnamese glyphs (DejaVu Sans, Liberation Sans or Noto Sans;
Debian's ``fonts-dejavu-core``); without one the export answers 503 ``dashboard.pdf_font_missing``.
"""
from __future__ import annotations

import io
from functools import cache
from xml.sax.saxutils import escape
from pathlib import Path

from reportlab.lib.pagesizes import A4  # units and page sizes are light: no drawing code
from reportlab.lib.units import mm

from core.errors import DomainError
from core.plugins import LazyModule
from core.reports import append_row

# openpyxl (~11 MB) and reportlab (~5 MB) load when a report file is first built, not with the app
openpyxl = LazyModule("openpyxl")
barcharts = LazyModule("reportlab.graphics.charts.barcharts")
shapes = LazyModule("reportlab.graphics.shapes")
colors = LazyModule("reportlab.lib.colors")
styles = LazyModule("reportlab.lib.styles")
pdfmetrics = LazyModule("reportlab.pdfbase.pdfmetrics")
ttfonts = LazyModule("reportlab.pdfbase.ttfonts")
platypus = LazyModule("reportlab.platypus")

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
)
PDF_ROWS = 400  # per table; the XLSX file carries every row
MARGIN = 14 * mm


def _period(f: dict) -> str:
    return f"{f['date_from']} – {f['date_to']}"


def _share(value: float) -> str:
    return f"{value * 100:.0f} %"


def _target(value) -> str:
    return "—" if value is None else str(value)


def _tables(f: dict) -> list[tuple[str, str, list[str], list[list]]]:
    """Every table of the report as (sheet name, title, header, rows): the one source of both files."""
    stars = f["products_by_stars"]
    tables = [
        ("Tong theo sao", "Sản phẩm OCOP theo sao", ["Sao", "Số sản phẩm", "Mục tiêu"],
         [[f"{s} sao", stars["totals"][s], _target((stars.get("target_stars") or {}).get(s))] for s in ("3", "4", "5")]
         + [["Tổng", stars["total"], _target(stars.get("target"))]]),
        ("San pham theo sao", "Theo tỉnh và xã/phường hiện hành", ["Tỉnh", "Xã/phường", "3 sao", "4 sao", "5 sao", "Tổng"],
         [[r["province_name"] or r["province_code"], r["commune_name"] or r["commune_code"], r["stars"]["3"],
           r["stars"]["4"], r["stars"]["5"], r["products"]] for r in stars["by_commune"]]),
        ("Don vi cap", "Theo đơn vị cấp chứng nhận", ["Đơn vị cấp", "3 sao", "4 sao", "5 sao", "Tổng"],
         [[r["unit_name"], r["stars"]["3"], r["stars"]["4"], r["stars"]["5"], r["products"]]
          for r in stars["by_issuing_unit"]]),
        ("Nhom san pham", "Theo nhóm sản phẩm", ["Nhóm", "3 sao", "4 sao", "5 sao", "Tổng", "Mục tiêu"],
         [[r["name"], r["stars"]["3"], r["stars"]["4"], r["stars"]["5"], r["products"], _target(r["target"])]
          for r in f["products_by_group"]]),
        ("Loai hinh chu the", "Loại hình chủ thể", ["Loại hình", "Số chủ thể", "Tỷ lệ"],
         [[r["name"], r["producers"], _share(r["share"])] for r in f["producer_mix"]["forms"]]),
        ("Muc tieu chu the", "Cơ cấu chủ thể so với mục tiêu", ["Mục tiêu", "Số chủ thể", "Tỷ lệ", "Tối thiểu", "Đạt"],
         [[r["name"], r["producers"], _share(r["share"]), _share(r["target"]), "Có" if r["met"] else "Không"]
          for r in f["producer_mix"]["targets"]]),
        ("Sap het han", f"Chứng nhận hết hạn trong 90 ngày kể từ {f['as_of']}", ["Sản phẩm", "Chủ thể", "Sao", "Số quyết định",
                                                               "Hết hạn", "Còn (ngày)"],
         [[r["product_name"], r["producer_name"], r["stars"], r["decision_no"], r["expires_on"], r["days_left"]]
          for r in f["expiring_certificates"]]),
        ("Diem ban", f"Điểm bán OCOP ({f['sales_points']['points']}, mục tiêu {_target(f['sales_points']['target'])})",
         ["Điểm bán", "Địa chỉ", "Số đơn", "Doanh thu (VND)"],
         [[r["name"], r["address"] or "", r["orders"], r["gmv"]] for r in f["sales_points"]["rows"]]),
    ]
    for figure in f["plugin_figures"]:
        tables.append((figure["code"][:28], f"{figure['name']}: {figure['value']} (mục tiêu {_target(figure.get('target'))})",
                       ["", "Số liệu"], [[r["label"], r["value"]] for r in figure["rows"]]))
    gmv = f["gmv_by_channel_month"]
    tables.append(("Doanh thu", "Doanh thu theo kênh và tháng (VND)", ["Tháng", *[c["code"] for c in gmv["channels"]]],
                   [[m, *[r["gmv"] for r in gmv["rows"] if r["month"] == m]] for m in gmv["months"]]))
    return tables


def _title(f: dict) -> str:
    place = f.get("province_name") or f.get("province_code") or "Toàn quốc"
    if f.get("unit_code"):
        place = f"{f.get('unit_name') or f['unit_code']}, {place}"
    return f"Báo cáo OCOP · {place} · {_period(f)}"


def figures_workbook(f: dict) -> bytes:
    """The figures as an XLSX workbook: a cover sheet, then one sheet per table (text cells never formulas)."""
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Bao cao"
    for row in ([_title(f)], ["Số liệu đến ngày", f["as_of"]], ["Nguồn mục tiêu", f["targets"]["source"] or "—"]):
        append_row(cover, row)
    for name, title, header, rows in _tables(f):
        sheet = book.create_sheet(name)
        append_row(sheet, [title])
        append_row(sheet, header)
        for row in rows:
            append_row(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@cache
def _fonts() -> tuple[str, str]:
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            pdfmetrics.registerFont(ttfonts.TTFont("OcopSans", regular))
            pdfmetrics.registerFont(ttfonts.TTFont("OcopSans-Bold", bold))
            return "OcopSans", "OcopSans-Bold"
    raise DomainError("dashboard.pdf_font_missing", "Máy chủ thiếu phông chữ tiếng Việt để tạo tệp PDF.",
                      "The server has no Vietnamese font to build the PDF (install fonts-dejavu-core).", status=503)


def _cell(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".")
    return "" if value is None else escape(str(value))


def _stars_chart(f: dict, font: str) -> shapes.Drawing:
    totals = f["products_by_stars"]["totals"]
    drawing = shapes.Drawing(170 * mm, 45 * mm)
    chart = barcharts.VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 8 * mm, 150 * mm, 34 * mm
    chart.data = [[totals["3"], totals["4"], totals["5"]]]
    chart.categoryAxis.categoryNames = ["3 sao", "4 sao", "5 sao"]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2e7d32")
    drawing.add(chart)
    return drawing


def figures_pdf(f: dict) -> bytes:
    """The figures as an A4 PDF report: title, period and targets' source, the stars chart, every table."""
    regular, bold = _fonts()
    body = styles.ParagraphStyle("body", fontName=regular, fontSize=8.5, leading=11)
    heading = styles.ParagraphStyle("heading", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
    title = styles.ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, spaceAfter=6)
    story = [platypus.Paragraph(escape(_title(f)), title),
             platypus.Paragraph(f"Số liệu chứng nhận đến ngày {f['as_of']}; doanh thu trong kỳ {_period(f)}.", body),
             platypus.Paragraph(escape(f"Mục tiêu: {f['targets']['source'] or 'tỉnh chưa có mục tiêu trong kế hoạch'}"), body),
             _stars_chart(f, regular)]
    for _sheet, name, header, rows in _tables(f):
        story.append(platypus.Paragraph(escape(name), heading))
        if not rows:
            story.append(platypus.Paragraph("Không có.", body))
            continue
        shown = rows[:PDF_ROWS]
        data = [[platypus.Paragraph(escape(h), body) for h in header]] + [[platypus.Paragraph(_cell(v), body) for v in row] for row in shown]
        table = platypus.Table(data, repeatRows=1, hAlign="LEFT", colWidths=[(A4[0] - 2 * MARGIN) / len(header)] * len(header))
        table.setStyle(platypus.TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f5e9")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
        if len(rows) > PDF_ROWS:
            story.append(platypus.Paragraph(f"{PDF_ROWS} dòng đầu trong {len(rows)}; bảng đầy đủ trong tệp XLSX.", body))
    story.append(platypus.Spacer(1, 4 * mm))
    out = io.BytesIO()
    doc = platypus.SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=_title(f), author="OCOP")
    doc.build(story)
    return out.getvalue()
