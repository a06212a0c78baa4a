"""Hook specifications: the only way plugins extend the core.

Every hook documents when it is called, what it receives and what it may
return. Hooks that report a state change (``*_listed``, ``order_*``,
``certification_changed``, ``stock_changed``) are called only after the
database transaction that made the change has committed; an implementation
that needs slow work should enqueue a Celery task. Implementations may omit
arguments they do not need (pluggy passes only the ones they name).
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ocop")
hookimpl = pluggy.HookimplMarker("ocop")


# --- registration -------------------------------------------------------------
@hookspec
def register_blueprints(app, api):
    """Called once while the web app is built (``create_app``; never by the worker app), after the core
    blueprints. Implement it, like the console and site page hooks, in the plugin's ``ocop.plugins.web``
    module (README, "Plugins"), so that processes without HTTP never import the routes.

    Return a list of ``flask_smorest.Blueprint`` objects (or a single one);
    the core registers them on ``api`` so they appear in ``/openapi.json``.
    Plugin routes must live under ``/storefront/v1/…`` or ``/admin/v1/…``.
    """


@hookspec
def register_migrations():
    """Called by ``ocop db upgrade`` and at app build time.

    Return ``(component, versions_dir)``: the plugin's name (used for its own
    Alembic version table ``alembic_version_<component>``) and the folder of
    its Alembic revisions. Tables of the plugin carry
    ``info={"component": component}`` (see ``core.db.component_table_args``).
    A disabled plugin's tables are simply left alone.
    """


@hookspec
def register_cli(cli):
    """Called once when the ``ocop`` command group is built.

    ``cli`` is the root ``click.Group``; add commands or sub-groups to it.
    Returns nothing.
    """


@hookspec
def register_tasks(celery):
    """Called once when the Celery app is configured.

    Import the plugin's task modules here (so workers know them) and return
    a dict of Celery beat schedule entries (``{"name": {"task": …,
    "schedule": …}}``) or None.
    """


@hookspec(historic=True)
def register_sales_channel_kinds(registry):
    """Historic: called at start-up and replayed for plugins registered later.

    Call ``registry.add(code, name_vi, name_en)`` for each kind of sales
    channel the plugin provides (``sales_point``, ``fair_booth``,
    ``marketplace``, ``livestream``). The core owns ``online_store``.
    """


@hookspec(historic=True)
def register_stock_location_kinds(registry):
    """Historic: called at start-up and replayed for plugins registered later.

    Call ``registry.add(code, name_vi, name_en)`` for each kind of stock
    location the plugin provides. The core owns ``producer_warehouse``.
    """


# --- providers ----------------------------------------------------------------
@hookspec
def payment_gateways(settings):
    """Called when checkout or payment code needs the available gateways.

    ``settings`` is the resolved :class:`core.config.Settings`. Return a list
    of objects implementing :class:`core.services.payments.PaymentGateway`
    (or an empty list when the gateway is not configured).
    """


@hookspec
def shipping_methods(checkout, address):
    """Called when a checkout's delivery options are computed.

    ``address`` is the validated shipping address dict (current province and
    commune codes, weight in grams under ``weight_g``, ``subtotal`` in VND and
    ``parcels``: one ``{producer_id, province_code, weight_g, subtotal}`` per
    producer, since each producer ships its own lines — see
    :mod:`core.services.shipping`). Return a list of
    :class:`core.services.shipping.ShippingQuote` (code, name, name_en,
    fee in VND) the shopper may choose from.
    """


@hookspec(firstresult=True)
def order_attribution(order):
    """firstresult: called when an order is placed, before it is committed.

    Return a dict ``{"source": …, "reference": …}`` naming the livestream,
    campaign or feed that gets credit for the order, or None to pass; the
    first non-None answer wins and is stored on the order.
    """


@hookspec
def search_document(product, document):
    """Called when a listed product's search document is built.

    ``document`` is the core's dict (read-only by convention). Return a dict
    of extra fields to merge into it, or None.
    """


@hookspec
def reports(user):
    """Called by ``GET /admin/v1/reports``.

    Return a list of dicts ``{"code", "name", "name_en", "url"}`` describing
    reports the plugin offers to ``user`` (already authenticated).

    An entry may also carry ``"dashboard": callable(province_code, unit_code, date_from, date_to)``
    returning one figure ``{"code", "name", "name_en", "value", "unit"?, "rows"?: [{"label", "value"}]}``
    for the province dashboard (``province_code`` None: every province; raise a ``DomainError`` to leave
    it out). A figure whose code names a plan target (``fair_rounds``, ``marketplace_producers``; see
    ``core/data/plan_targets.json``) is shown against it. The key is never serialised by
    ``GET /admin/v1/reports``.
    """


# --- state changes (after commit) ---------------------------------------------
@hookspec
def product_listed(product):
    """After commit: ``product`` became visible in the storefront (active with a valid 3+ star certification)."""


@hookspec
def product_delisted(product, reason):
    """After commit: ``product`` stopped being listed.

    ``reason`` is one of ``expired``, ``withdrawn``, ``downgraded``,
    ``archived``, ``superseded``, ``deactivated``.
    """


@hookspec
def certification_changed(certification, previous_status):
    """After commit: a certification was created or changed status.

    ``previous_status`` is None for a new certification.
    """


@hookspec
def certification_expiring(certification, days_left):
    """After commit: a producer was warned that ``certification`` expires in ``days_left`` days (60-day window)."""


@hookspec
def stock_changed(stock, movement):
    """After commit: ``stock`` (variant × location) changed by ``movement`` (a ledger row)."""


@hookspec
def order_created(order):
    """After commit: ``order`` was placed and its stock allocated."""


@hookspec
def order_paid(order, payment):
    """After commit: ``order`` became fully paid by ``payment``."""


@hookspec
def order_cancelled(order):
    """After commit: ``order`` was cancelled and its allocations released."""


@hookspec
def order_fulfilled(order, fulfilment):
    """After commit: ``fulfilment`` shipped some of ``order``'s lines and deducted their stock."""


# --- webhook events declared and emitted by plugins -----------------------------
@hookspec(historic=True)
def register_webhook_events(registry):
    """Historic: called by the webhooks plugin when an app first needs the event types, replayed for plugins
    registered later.

    Call ``registry.add(code, name_vi, name_en)`` for each event type the plugin emits through
    :func:`plugin_event` (codes like ``sales_point.sale_recorded``: ``<plugin>.<what happened>``).
    Integrators may then subscribe to them; an event type nobody declared is never delivered.
    Returns nothing.
    """


@hookspec
def plugin_event(name, payload):
    """Called by a plugin (``hooks().plugin_event(name=…, payload=…)``) after its transaction commits.

    ``name`` is an event type the plugin declared with :func:`register_webhook_events`; ``payload`` a
    JSON-serialisable dict (identifiers, states, integer VND amounts; no personal data). Implementations
    (the webhooks plugin) fan the event out, e.g. as signed webhook deliveries. Returns nothing.
    """


# --- pricing ------------------------------------------------------------------
@hookspec
def price_adjustments(channel, at, customer, lines):
    """Called by the price resolver (``core.pricing.resolver``) once per resolution — a storefront page,
    a cart, a counter sale, a feed batch — after the core's promotions and before vouchers.

    ``channel`` is a ``core.pricing.rules.ChannelRef`` (``kind``, ``code``), ``at``
    the aware UTC moment priced, ``customer`` the customer key (``phone:…`` /
    ``user:…``) or None, ``lines`` a list of read-only
    ``core.pricing.resolver.PricingLine`` (``variant_id``, ``product_id``,
    ``producer_id``, ``quantity``, ``base_unit_price``, ``unit_price`` after
    promotions). Return a list of ``core.pricing.resolver.PriceAdjustment``
    (or dicts with its fields: ``variant_id``, ``reference``, ``name``,
    ``name_en``, ``unit_amount``) or None. ``unit_amount`` is VND off each unit:
    rounded down, capped so a price never goes below 0, recorded on the line as
    a discount with source ``plugin`` and reference ``plugin:<reference>``;
    malformed entries are ignored. The hook runs on reads too: it must not
    write, and must not query per line. A plugin whose adjustments change
    over time calls ``core.pricing.version.bump()`` in the changing
    transaction so cached prices are dropped.
    """


# --- public site --------------------------------------------------------------
@hookspec
def register_site_pages(pages):
    """Called once per web app by the public storefront site (``storefront_api.site``), after its own pages
    (a web hook: the plugin's ``ocop.plugins.web`` module).

    ``pages.add(path, view, name=…, title=…, title_en=…, nav=False, methods=("GET",))`` serves a
    Flask view at ``path`` with endpoint ``site.<name>`` (the site's language switch, template helpers
    and error pages apply; ``nav=True`` links it in the site header). ``pages.add_template_folder(folder)``
    makes a plugin's templates findable; they may ``{% extends "site/layout.html" %}`` and fill
    ``{% block content %}``. ``pages.render(template, status=200, **context)`` renders one (helpers
    ``t(vi, en)``, ``vnd(amount)``, ``vn_date(value)``). Paths must not collide with the site's own
    (``/``, ``/san-pham/…``, ``/chu-the/…``, ``/tim-kiem``, ``/nhom/…``, ``/tinh/…``, ``/diem-ban``,
    ``/gio-hang…``, ``/thanh-toan…``, ``/don-hang/…``, ``/sitemap…``, ``/robots.txt``); a view calls
    core services only (e.g. a fairs plugin's page of current fairs). Returns nothing.
    """


@hookspec
def site_home_sections(lang):
    """Called by the public site's home page (``/``) on every request, inside the request's transaction (a web
    hook: the plugin's ``ocop.plugins.web`` module).

    ``lang`` is the shopper's language (``"vi"`` or ``"en"``). Return None (nothing to show now) or one
    section ``{"key", "title", "title_en", "items": [...], "more_url"?}``: ``key`` names it (an HTML id,
    e.g. ``"fairs"``), ``title``/``title_en`` its heading, ``more_url`` a site path listing everything;
    each item ``{"title", "url", "starts_on"?, "ends_on"?, "place"?, "note"?}`` — ``url`` a site path (a
    page the plugin added with :func:`register_site_pages`), dates as ``date`` or aware ``datetime`` (the
    site shows them ``dd/mm/yyyy`` in Vietnam time), ``place`` and ``note`` plain text already in ``lang``.
    The site escapes every text. Sections with no items are not shown. Reads only, a few queries at most
    (it runs on the busiest page); e.g. the fairs plugin's running and upcoming fairs.
    """


# --- web console ----------------------------------------------------------------
@hookspec
def register_console_pages(console):
    """Called once while the web app is built (``admin.console.register``), after the core's console pages
    (a web hook: the plugin's ``ocop.plugins.web`` module).

    ``console`` is the page registry (``admin.console.shell.ConsolePages``). Call
    ``console.add_page(rule, view, endpoint=…, roles=(…), methods=("GET",), menu=("Nhãn", "Label"),
    blueprint="<plugin>", template_folder=…)`` to mount ``view`` at ``/console<rule>`` behind the
    console's login, role check and CSRF check (every POST), with an optional menu entry shown to those
    roles; its endpoint is ``console_<blueprint>.<endpoint>``. Views return ``console.render(template, status,
    **context)``; templates extend ``console/layout.html`` and may use ``t(vi, en)``, ``csrf_field()``
    and ``money(vnd)``. Views call the same services as the plugin's API routes. Returns nothing.
    """


# --- demo ---------------------------------------------------------------------------------------
@hookspec
def seed_demo_data():
    """Called by ``ocop seed demo`` (so by ``dev.py serve``) after the core demo catalogue, in the command's
    transaction (committed when the command ends).

    A plugin adds its own demo data (a recorded livestream, a running fair, demo marketplaces) through
    its services, idempotently (an existing demo is kept), and flushes; each implementation runs in a
    SAVEPOINT of its own, so a refusal (a :class:`~core.errors.DomainError`) skips that plugin's demo
    and the others still load. Returns a small JSON-able summary (``{"skipped": True, ...}`` when
    nothing was added), printed by the command.
    """


# --- payables (a plugin's debt paid with core payments) -----------------------------------------
@hookspec
def payable_paid(kind, payable_id, payment):
    """After commit: the payable ``kind`` / ``payable_id`` (a plugin's debt outside orders, e.g. ``fair_fee``)
    was paid by ``payment`` (a core ``Payment`` whose ``payable_kind``/``payable_id`` name it): a bank transfer
    matched by a statement line or a notification, one a person marked paid, or money taken at a desk
    (:mod:`core.payments.payables`). Fired once per captured payment; a plugin checks ``kind`` and ignores
    the kinds it does not own. Returns nothing.
    """
