"""For search engines: ``robots.txt`` and a chunked ``sitemap.xml`` (an index of files of at most 5,000 URLs)."""
from __future__ import annotations

from flask import Response, abort
from markupsafe import escape

from core.catalogue import browse as catalogue_read, groups, landing
from storefront_api.site.blueprint import bp, public_url, vn_date
from storefront_api.site.catalogue_pages import browse_facets

CHUNK = 5000
PRIVATE_PATHS = ("/gio-hang", "/thanh-toan", "/don-hang/", "/tim-kiem", "/admin/", "/console", "/storefront/")


def _xml(body: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, mimetype="application/xml")


def _urlset(entries) -> Response:
    items = "".join(f"<url><loc>{escape(loc)}</loc>{f'<lastmod>{lastmod}</lastmod>' if lastmod else ''}</url>"
                    for loc, lastmod in entries)
    return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>')


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {p}" for p in PRIVATE_PATHS), "Allow: /",
             f"Sitemap: {public_url('site.sitemap')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.get("/sitemap.xml")
def sitemap():
    """The sitemap index: one file of pages, then product files of ``CHUNK`` URLs each."""
    chunks = max(1, -(-landing.listed_product_count() // CHUNK))
    files = [public_url("site.sitemap_pages")] + [public_url("site.sitemap_products", n=n) for n in range(1, chunks + 1)]
    items = "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>" for loc in files)
    return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>')


@bp.get("/sitemap-pages.xml")
def sitemap_pages():
    facets = browse_facets()
    entries = [(public_url("site.home"), None), (public_url("site.sales_points"), None)]
    entries += [(public_url("site.group", code=g["code"]), None) for g in groups.groups()]
    entries += [(public_url("site.province", code=f["value"]), None) for f in facets["province"]]
    entries += [(public_url("site.commune", code=code), None)
                for code in catalogue_read.communes_with_listed_products()]
    entries += [(public_url("site.producer", slug=s), None) for s in landing.producer_slugs_with_listed_products()]
    return _urlset(entries)


@bp.get("/sitemap-products-<int:n>.xml")
def sitemap_products(n):
    if n < 1:
        abort(404)
    rows = landing.listed_product_slugs((n - 1) * CHUNK, CHUNK)
    if not rows and n > 1:
        abort(404)
    return _urlset((public_url("site.product", slug=slug), _iso_date(updated)) for slug, updated in rows)


def _iso_date(value) -> str | None:
    if value is None:
        return None
    day, month, year = vn_date(value).split("/")
    return f"{year}-{month}-{day}"
