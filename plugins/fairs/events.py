"""Events: creation, the checked and audited lifecycle, zones and booths (the booth map as JSON and SVG).

Each event owns one core sales channel of kind ``fair_booth`` (code ``fair_booth:<slug>``: booth sales and
fair promotions) and one ``fair_transit`` stock location holding goods on their way to or from a booth.
Services flush, never commit.
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import select

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.db import db
from core.errors import Conflict, DomainError, NotFound, invalid
from core.geo import units as geo
from core.inventory import locations
from core.inventory.models import Stock, StockMovement
from core.pagination import paginate
from core.sales import channels
from core.text import slugify
from plugins.fairs import access, exhibitors
from plugins.fairs.models import (STATUSES, FairAssignment, FairBooth, FairEvent, FairFeeLine, FairSettlement,
                                  FairZone)

FAIR_BOOTH_KIND = "fair_booth"
FAIR_TRANSIT_KIND = "fair_transit"
#: statuses in which exhibitor names are public (on the map, the detail page)
PUBLISHED = ("published", "running", "closed", "reported")
#: statuses the storefront lists
LISTED = ("published", "running")
EVENT_FIELDS = ("name", "kind", "venue_address", "latitude", "longitude", "starts_on", "ends_on", "opening_hours",
                "applications_open_on", "applications_close_on", "fee_policy", "subsidy_share_bp",
                "open_to_other_provinces", "map_width", "map_height")


# --- events ----------------------------------------------------------------------------------
def get_event(event_id: int) -> FairEvent:
    """An event by id (404 ``fair_event.not_found``)."""
    event = db.session.get(FairEvent, event_id)
    if event is None:
        raise NotFound("fair_event", "sự kiện")
    return event


def event_by_slug(slug: str) -> FairEvent:
    event = db.session.execute(select(FairEvent).where(FairEvent.slug == slug)).scalar_one_or_none()
    if event is None:
        raise NotFound("fair_event", "sự kiện")
    return event


def view_event(user: User, event_id: int) -> FairEvent:
    """An event the user sees (organisers: their province's; producers: any event past draft)."""
    event = get_event(event_id)
    if not access.can_manage_event(user, event) and event.status == "draft":
        raise access.out_of_scope(event_id=event.id)
    return event


def _check_dates(data: dict) -> None:
    if data["ends_on"] < data["starts_on"]:
        raise invalid("ends_on", "ngày kết thúc trước ngày khai mạc", "ends_on is before starts_on",
                      code="fair.invalid_dates")
    if data["applications_close_on"] < data["applications_open_on"]:
        raise invalid("applications_close_on", "hạn đăng ký trước ngày mở đăng ký",
                      "applications close before they open", code="fair.invalid_dates")
    if data["applications_close_on"] > data["starts_on"]:
        raise invalid("applications_close_on", "hạn đăng ký phải trước ngày khai mạc",
                      "applications must close by the opening day", code="fair.invalid_dates")
    hours = data.get("opening_hours")
    if hours and hours["close"] <= hours["open"]:
        raise invalid("opening_hours", "giờ đóng cửa phải sau giờ mở cửa", "closing time must follow opening time",
                      code="fair.invalid_hours")
    if data.get("fee_policy") == "subsidised" and not data.get("subsidy_share_bp"):
        raise invalid("subsidy_share_bp", "sự kiện hỗ trợ phí cần tỷ lệ hỗ trợ", "a subsidised event needs a share",
                      code="fair.subsidy_required")


def _unique_slug(name: str, wanted: str | None) -> str:
    base = wanted or slugify(name, 100)
    if wanted and db.session.execute(select(FairEvent.id).where(FairEvent.slug == wanted)).first():
        raise Conflict("fair.slug_taken", "Đường dẫn sự kiện đã tồn tại.", "The event slug is taken.", {"slug": wanted})
    slug, n = base, 2
    while db.session.execute(select(FairEvent.id).where(FairEvent.slug == slug)).first():
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_event(user: User, data: dict) -> FairEvent:
    """A draft event in the organiser's province, with its ``fair_booth`` channel and transit location. Flushes."""
    data = dict(data)
    venue = geo.require_commune(data["venue_unit_code"], "venue_unit_code")
    province = geo.province_of(venue)
    access.require_organiser_province(user, province.code)
    data.setdefault("fee_policy", "free")
    _check_dates(data)
    slug = _unique_slug(data["name"], data.get("slug"))
    channel = channels.get_or_create_channel(f"{FAIR_BOOTH_KIND}:{slug}", kind=FAIR_BOOTH_KIND, name=data["name"])
    transit = locations.create_location(user, {"kind": FAIR_TRANSIT_KIND, "name": f"Hàng đang chuyển – {data['name']}",
                                               "province_code": province.code, "external_ref": f"fair_transit:{slug}"})
    event = FairEvent(slug=slug, status="draft", province_code=province.code, venue_unit_code=venue.code,
                      sales_channel_id=channel.id, transit_location_id=transit.id, created_by_id=user.id,
                      subsidy_share_bp=0, open_to_other_provinces=False, map_width=100, map_height=60)
    for key in EVENT_FIELDS:
        if key in data:
            setattr(event, key, data[key])
    if event.fee_policy != "subsidised":
        event.subsidy_share_bp = 0
    db.session.add(event)
    db.session.flush()
    audit.record("fair.created", event, actor=user, province_code=event.province_code)
    return event


def update_event(user: User, event: FairEvent, data: dict) -> FairEvent:
    """Edit an event (dates, hours, fee policy, map size) before it is published. Flushes."""
    access.require_manage(user, event)
    if event.status in PUBLISHED:
        raise _status_error(event, "edit")
    fee_change = any(key in data and data[key] != getattr(event, key) for key in ("fee_policy", "subsidy_share_bp"))
    if fee_change and db.session.execute(select(FairFeeLine.id).where(FairFeeLine.event_id == event.id)).first():
        raise DomainError("fair.fees_issued", "Đã lập phí gian hàng, không thể đổi chính sách phí.",
                          "Booth fees are issued; the fee policy can no longer change.", {"event_id": event.id},
                          status=409)
    before = audit.snapshot(event)
    merged = {key: getattr(event, key) for key in EVENT_FIELDS} | dict(data)
    _check_dates(merged)
    for key in EVENT_FIELDS:
        if key in data:
            setattr(event, key, data[key])
    if event.fee_policy != "subsidised":
        event.subsidy_share_bp = 0
    for zone in event.zones:
        _inside_map(event, zone, f"zones[{zone.code}]")
    audit.record("fair.updated", event, before=before, actor=user, province_code=event.province_code)
    db.session.flush()
    return event


def list_events(user: User, args: dict) -> dict:
    """Events in the admin listing (organisers: their province; producers: every event past draft)."""
    stmt = select(FairEvent)
    clause = access.event_scope_clause(user)
    if clause is not None:
        stmt = stmt.where(clause)
    if args.get("status"):
        stmt = stmt.where(FairEvent.status == args["status"])
    if args.get("province"):
        stmt = stmt.where(FairEvent.province_code == args["province"])
    return paginate(stmt.order_by(FairEvent.starts_on.desc(), FairEvent.id), args["page"], args["limit"])


# --- the lifecycle -------------------------------------------------------------------------------
def _status_error(event: FairEvent, action: str, wanted=None) -> DomainError:
    details = {"status": event.status, "action": action}
    if wanted:
        details["allowed_statuses"] = list(wanted)
    return DomainError("fair.wrong_status", f"Sự kiện đang ở trạng thái '{event.status}', không thể thực hiện.",
                       f"The event is '{event.status}'; this cannot be done now.", details, status=409)


def require_status(event: FairEvent, action: str, *statuses: str) -> None:
    """409 ``fair.wrong_status`` unless the event is in one of ``statuses``."""
    if event.status not in statuses:
        raise _status_error(event, action, statuses)


def next_status(event: FairEvent) -> str | None:
    index = STATUSES.index(event.status)
    return STATUSES[index + 1] if index + 1 < len(STATUSES) else None


def _check_transition(event: FairEvent, target: str) -> None:
    if target != next_status(event):
        raise DomainError("fair.invalid_transition", f"Không thể chuyển từ '{event.status}' sang '{target}'.",
                          f"Cannot move from '{event.status}' to '{target}'.",
                          {"status": event.status, "to": target, "allowed": next_status(event)}, status=409)
    if target == "open" and not event.booths:
        raise DomainError("fair.no_booths", "Sự kiện chưa có gian hàng trên sơ đồ.",
                          "The event has no booths on its map yet.", {"event_id": event.id}, status=409)
    if target == "reported":
        settled = set(db.session.execute(select(FairSettlement.assignment_id)
                                         .where(FairSettlement.event_id == event.id)).scalars())
        open_ones = [a.id for a in db.session.execute(select(FairAssignment).where(
            FairAssignment.event_id == event.id)).scalars() if a.id not in settled and has_stock_history(a)]
        if open_ones:
            raise DomainError("fair.unsettled", "Còn gian hàng chưa quyết toán.",
                              "Some exhibitors are not settled yet.", {"assignment_ids": open_ones}, status=409)


def has_stock_history(assignment: FairAssignment) -> bool:
    """Has any stock ever moved at the exhibitor's booth location?"""
    return db.session.execute(select(StockMovement.id).join(Stock, Stock.id == StockMovement.stock_id)
                              .where(Stock.location_id == assignment.stock_location_id).limit(1)).first() is not None


def transition(user: User, event: FairEvent, target: str) -> FairEvent:
    """Move the event one step along draft → open → allocating → published → running → closed → reported. Flushes."""
    access.require_manage(user, event)
    if target not in STATUSES:
        raise invalid("to", "trạng thái không hợp lệ", "unknown status", code="fair.invalid_transition")
    _check_transition(event, target)
    before = {"status": event.status}
    event.status = target
    audit.record("fair.status_changed", event, before=before, after={"status": target}, actor=user,
                 province_code=event.province_code)
    db.session.flush()
    return event


# --- zones and booths -------------------------------------------------------------------------
def _inside(inner: tuple, outer: tuple) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return x >= ox and y >= oy and x + w <= ox + ow and y + h <= oy + oh


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _geometry(obj) -> tuple[int, int, int, int]:
    return (obj["x"], obj["y"], obj["w"], obj["h"]) if isinstance(obj, dict) else (obj.x, obj.y, obj.w, obj.h)


def _inside_map(event: FairEvent, obj, field: str) -> None:
    if not _inside(_geometry(obj), (0, 0, event.map_width, event.map_height)):
        raise invalid(field, "vị trí nằm ngoài sơ đồ sự kiện", "the rectangle lies outside the event's map",
                      code="fair.outside_map")


def _require_map_editable(user: User, event: FairEvent) -> None:
    access.require_manage(user, event)
    require_status(event, "edit_map", "draft", "open", "allocating")


def add_zone(user: User, event: FairEvent, data: dict) -> FairZone:
    """A zone on the map (inside the map, not overlapping another zone). Flushes."""
    _require_map_editable(user, event)
    _inside_map(event, data, "zone")
    if any(zone.code == data["code"] for zone in event.zones):
        raise Conflict("fair.zone_code_taken", "Mã khu đã tồn tại.", "The zone code is taken.", {"code": data["code"]})
    for zone in event.zones:
        if _overlap(_geometry(data), _geometry(zone)):
            raise invalid("zone", f"khu chồng lên khu {zone.code}", f"the zone overlaps zone {zone.code}",
                          code="fair.overlap")
    zone = FairZone(event_id=event.id, **{k: data[k] for k in ("code", "name", "x", "y", "w", "h")},
                    product_group=data.get("product_group"))
    event.zones.append(zone)
    db.session.flush()
    audit.record("fair.zone_added", zone, actor=user, province_code=event.province_code)
    return zone


def add_booths(user: User, event: FairEvent, rows: list[dict]) -> list[FairBooth]:
    """Booths on the map: each inside its zone, none overlapping another, codes unique. All or nothing. Flushes."""
    _require_map_editable(user, event)
    zones = {zone.code: zone for zone in event.zones}
    placed = [(b.code, _geometry(b)) for b in event.booths]
    codes = {b.code for b in event.booths}
    booths = []
    for i, row in enumerate(rows):
        zone = zones.get(row["zone_code"])
        if zone is None:
            raise invalid(f"booths[{i}].zone_code", "không có khu này", "no such zone", code="fair.unknown_zone")
        if row["code"] in codes:
            raise Conflict("fair.booth_code_taken", "Mã gian hàng đã tồn tại.", "The booth code is taken.",
                           {"code": row["code"]})
        rect = _geometry(row)
        if not _inside(rect, _geometry(zone)):
            raise invalid(f"booths[{i}]", f"gian hàng nằm ngoài khu {zone.code}", f"the booth lies outside zone {zone.code}",
                          code="fair.outside_zone")
        clash = next((code for code, other in placed if _overlap(rect, other)), None)
        if clash:
            raise invalid(f"booths[{i}]", f"gian hàng chồng lên gian {clash}", f"the booth overlaps booth {clash}",
                          code="fair.overlap")
        capacity = row.get("capacity", 1)
        if capacity > 1 and row["booth_type"] != "pavilion":
            raise invalid(f"booths[{i}].capacity", "chỉ gian chung của tỉnh mới có nhiều chủ thể",
                          "only a shared provincial pavilion holds several exhibitors", code="fair.capacity")
        booth = FairBooth(event_id=event.id, zone_id=zone.id, code=row["code"], booth_type=row["booth_type"],
                          size_m2=row["size_m2"], price=row.get("price", 0), capacity=capacity,
                          services=sorted(set(row.get("services") or [])), x=rect[0], y=rect[1], w=rect[2], h=rect[3])
        event.booths.append(booth)
        booths.append(booth)
        placed.append((booth.code, rect))
        codes.add(booth.code)
    db.session.flush()
    audit.record("fair.booths_added", event, actor=user, province_code=event.province_code,
                 after={"codes": [b.code for b in booths]})
    return booths


BOOTH_EDITABLE = ("zone_code", "booth_type", "size_m2", "price", "services", "x", "y", "w", "h")


def get_booth(event: FairEvent, booth_id: int) -> FairBooth:
    booth = db.session.get(FairBooth, booth_id)
    if booth is None or booth.event_id != event.id:
        raise NotFound("fair_booth", "gian hàng")
    return booth


def update_booth(user: User, event: FairEvent, booth_id: int, data: dict) -> FairBooth:
    """Move, resize or retype a booth on the map (the map editor): it stays inside its zone and overlaps no
    other booth; its price is frozen once fee lines exist for it. Flushes."""
    _require_map_editable(user, event)
    booth = get_booth(event, booth_id)
    zones = {zone.code: zone for zone in event.zones}
    zone = zones.get(data["zone_code"]) if "zone_code" in data else booth.zone
    if zone is None:
        raise invalid("zone_code", "không có khu này", "no such zone", code="fair.unknown_zone")
    rect = tuple(data.get(k, getattr(booth, k)) for k in ("x", "y", "w", "h"))
    if not _inside(rect, _geometry(zone)):
        raise invalid("booth", f"gian hàng nằm ngoài khu {zone.code}", f"the booth lies outside zone {zone.code}",
                      code="fair.outside_zone")
    clash = next((b.code for b in event.booths if b.id != booth.id and _overlap(rect, _geometry(b))), None)
    if clash:
        raise invalid("booth", f"gian hàng chồng lên gian {clash}", f"the booth overlaps booth {clash}",
                      code="fair.overlap")
    if "price" in data and data["price"] != booth.price and booth.assignments:
        raise Conflict("fair.fees_issued", "Gian hàng đã được xếp, không thể đổi giá.",
                       "The booth is assigned; its price cannot change.", {"booth_id": booth.id})
    if data.get("booth_type", booth.booth_type) != "pavilion" and booth.capacity > 1:
        raise invalid("booth_type", "gian nhiều chủ thể phải là gian chung của tỉnh",
                      "a booth for several exhibitors must stay a shared pavilion", code="fair.capacity")
    before = audit.snapshot(booth)
    booth.zone_id = zone.id
    booth.x, booth.y, booth.w, booth.h = rect
    for key in ("booth_type", "size_m2", "price"):
        if key in data:
            setattr(booth, key, data[key])
    if "services" in data:
        booth.services = sorted(set(data["services"] or []))
    db.session.flush()
    audit.record("fair.booth_changed", booth, before=before, actor=user, province_code=event.province_code)
    return booth


# --- the map ------------------------------------------------------------------------------------
def exhibitor_names(event: FairEvent) -> dict[int, list[str]]:
    """Booth id → names of its exhibitors, once the allocation is published (else empty)."""
    if event.status not in PUBLISHED:
        return {}
    names: dict[int, list[str]] = {}
    for booth in event.booths:
        names[booth.id] = [a.producer.name for a in booth.assignments]
    return names


def booth_map(event: FairEvent) -> dict:
    """The booth map as JSON: the plane, zones and booths with geometry (exhibitors once published)."""
    names = exhibitor_names(event)
    zone_codes = {zone.id: zone.code for zone in event.zones}
    return {"slug": event.slug, "width": event.map_width, "height": event.map_height,
            "zones": [{"code": z.code, "name": z.name, "product_group": z.product_group,
                       "x": z.x, "y": z.y, "w": z.w, "h": z.h} for z in event.zones],
            "booths": [{"code": b.code, "zone_code": zone_codes[b.zone_id], "booth_type": b.booth_type,
                        "size_m2": b.size_m2, "price": b.price, "capacity": b.capacity, "services": b.services or [],
                        "x": b.x, "y": b.y, "w": b.w, "h": b.h, "free_slots": b.capacity - len(b.assignments),
                        "exhibitors": names.get(b.id) if event.status in PUBLISHED else None}
                       for b in event.booths]}


ZONE_FILLS = ("#e8f4ea", "#e8eef8", "#fbefe2", "#f4e8f4", "#eef2e2", "#e2f2f4")


def booth_map_svg(event: FairEvent) -> str:
    """The booth map as an SVG document: zones, booth codes and (once published) exhibitor names."""
    data = booth_map(event)
    scale = 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {data["width"] * scale} {data["height"] * scale}" '
             f'width="{data["width"] * scale}" height="{data["height"] * scale}" font-family="sans-serif">',
             f"<title>{escape(event.name)}</title>",
             f'<rect x="0" y="0" width="{data["width"] * scale}" height="{data["height"] * scale}" fill="#ffffff" '
             f'stroke="#444"/>']
    for i, zone in enumerate(data["zones"]):
        parts.append(f'<g class="zone" id={quoteattr("zone-" + zone["code"])}>'
                     f'<rect x="{zone["x"] * scale}" y="{zone["y"] * scale}" width="{zone["w"] * scale}" '
                     f'height="{zone["h"] * scale}" fill="{ZONE_FILLS[i % len(ZONE_FILLS)]}" stroke="#888"/>'
                     f'<text x="{zone["x"] * scale + 6}" y="{zone["y"] * scale + 16}" font-size="14" '
                     f'font-weight="bold">{escape(zone["code"] + " – " + zone["name"])}</text></g>')
    for booth in data["booths"]:
        x, y, w, h = (booth[k] * scale for k in ("x", "y", "w", "h"))
        taken = booth["free_slots"] < booth["capacity"]
        parts.append(f'<g class="booth" id={quoteattr("booth-" + booth["code"])}>'
                     f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{"#ffd27f" if taken else "#ffffff"}" '
                     f'stroke="#333"/><text x="{x + 4}" y="{y + 14}" font-size="12">{escape(booth["code"])}</text>')
        for n, name in enumerate(booth["exhibitors"] or []):
            parts.append(f'<text x="{x + 4}" y="{y + 28 + 12 * n}" font-size="9">{escape(name[:40])}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


# --- the storefront ------------------------------------------------------------------------------
def public_events(args: dict) -> dict:
    """Upcoming and running events (published or running, not ended), by province and dates, paginated."""
    stmt = select(FairEvent).where(FairEvent.status.in_(LISTED), FairEvent.ends_on >= clock.today())
    if args.get("province"):
        stmt = stmt.where(FairEvent.province_code == args["province"])
    if args.get("date_from"):
        stmt = stmt.where(FairEvent.ends_on >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(FairEvent.starts_on <= args["date_to"])
    if args.get("kind"):
        stmt = stmt.where(FairEvent.kind == args["kind"])
    return paginate(stmt.order_by(FairEvent.starts_on, FairEvent.id), args["page"], args["limit"])


def public_event(slug: str) -> FairEvent:
    """An event shown on the storefront (published or later); 404 otherwise."""
    event = event_by_slug(slug)
    if event.status not in PUBLISHED:
        raise NotFound("fair_event", "sự kiện")
    return event


class PublicDetail:
    """A published event with its exhibitors and map, for serialisation."""

    def __init__(self, event: FairEvent):
        self.event = event
        self.exhibitors = exhibitors.exhibitors(event)
        self.map = booth_map(event)

    def __getattr__(self, name):
        return getattr(self.event, name)


def public_detail(slug: str) -> PublicDetail:
    """The storefront's event page: the event, its exhibitors (products with stars) and its booth map."""
    return PublicDetail(public_event(slug))
