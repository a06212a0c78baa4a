"""Admin API of the fairs plugin under ``/admin/v1/fairs`` (routes parse, call one service, serialise)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.security import current_user, require_roles
from plugins.fairs import allocation, applications, booth_stock, events, fees, reports, trade
from plugins.fairs import schemas as s

blp = Blueprint("fairs", __name__, url_prefix="/admin/v1/fairs",
                description="Fairs and event booths: events, booth maps, applications, allocation, booth stock and "
                            "sales, settlement, visitors, deals, meetings (plugin)")

ALL = ("admin", "organiser", "producer")
ORGANISE = ("admin", "organiser")
BOOTH = ("admin", "organiser", "producer", "operator")  # operators: booth staff of their own booth only
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _event(event_id: int):
    return events.view_event(current_user(), event_id)


def _download(content: bytes, name: str, ext: str) -> Response:
    return Response(content, mimetype="text/csv; charset=utf-8" if ext == "csv" else XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- events ------------------------------------------------------------------------------------
@blp.route("")
class Events(MethodView):
    @require_roles(*ALL)
    @blp.arguments(s.FairEventQuerySchema, location="query")
    @blp.response(200, s.FairEventPageSchema)
    def get(self, args):
        """Events (organisers: their province's; producers: every event past draft)."""
        return events.list_events(current_user(), args)

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairEventInSchema)
    @blp.response(201, s.FairEventOutSchema)
    def post(self, data):
        """Create a draft event in your province (its venue's); it gets a ``fair_booth`` sales channel."""
        return events.create_event(current_user(), data)


@blp.route("/<int:event_id>")
class EventItem(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairEventOutSchema)
    def get(self, event_id):
        """One event."""
        return _event(event_id)

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairEventPatchSchema)
    @blp.response(200, s.FairEventOutSchema)
    def patch(self, data, event_id):
        """Edit an event before it is published."""
        return events.update_event(current_user(), _event(event_id), data)


@blp.route("/<int:event_id>/transition")
class Transition(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairTransitionSchema)
    @blp.response(200, s.FairEventOutSchema)
    def post(self, data, event_id):
        """One step: draft → open → allocating → published → running → closed → reported (audited)."""
        return events.transition(current_user(), _event(event_id), data["to"])


# --- the map -------------------------------------------------------------------------------------
@blp.route("/<int:event_id>/zones")
class Zones(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairZoneInSchema)
    @blp.response(201, s.FairZoneOutSchema)
    def post(self, data, event_id):
        """Add a zone to the map (inside the map, not overlapping another)."""
        return events.add_zone(current_user(), _event(event_id), data)


@blp.route("/<int:event_id>/booths")
class Booths(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairBoothsInSchema)
    @blp.response(201, s.FairBoothListSchema)
    def post(self, data, event_id):
        """Add booths (each inside its zone, none overlapping); all or nothing."""
        return {"results": events.add_booths(current_user(), _event(event_id), data["booths"])}


@blp.route("/<int:event_id>/booths/<int:booth_id>")
class Booth(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairBoothPatchSchema)
    @blp.response(200, s.FairBoothOutSchema)
    def patch(self, data, event_id, booth_id):
        """Move, resize or retype a booth (inside its zone, overlapping no other; the map editor)."""
        return events.update_booth(current_user(), _event(event_id), booth_id, data)


@blp.route("/<int:event_id>/map")
class Map(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairMapSchema)
    def get(self, event_id):
        """The booth map as JSON (geometry on the event's map plane; exhibitors once published)."""
        return events.booth_map(_event(event_id))


# --- applications ---------------------------------------------------------------------------------
@blp.route("/<int:event_id>/applications")
class Applications(MethodView):
    @require_roles(*ALL)
    @blp.arguments(s.FairApplicationQuerySchema, location="query")
    @blp.response(200, s.FairApplicationPageSchema)
    def get(self, args, event_id):
        """Applications (organisers: all of the event; producers: their own)."""
        return applications.list_applications(current_user(), _event(event_id), args)

    @require_roles(*ALL)
    @blp.arguments(s.FairApplicationInSchema)
    @blp.response(201, s.FairApplicationOutSchema)
    def post(self, data, event_id):
        """Apply for a booth with listed OCOP products (an unlisted product is refused)."""
        return applications.submit(current_user(), _event(event_id), data)


@blp.route("/applications/<int:application_id>")
class ApplicationItem(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairApplicationOutSchema)
    def get(self, application_id):
        """One application (its producer, or the event's organiser)."""
        return applications.view_application(current_user(), application_id)


@blp.route("/applications/<int:application_id>/review")
class Review(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairReviewSchema)
    @blp.response(200, s.FairApplicationOutSchema)
    def post(self, data, application_id):
        """approve / reject (with a reason) / waitlist; the producer is notified."""
        return applications.review(current_user(), applications.get_application(application_id), data)


@blp.route("/applications/<int:application_id>/withdraw")
class Withdraw(MethodView):
    @require_roles("producer")
    @blp.response(200, s.FairApplicationOutSchema)
    def post(self, application_id):
        """The producer withdraws its application (a booked booth is released)."""
        return applications.withdraw(current_user(), applications.get_application(application_id))


# --- allocation and fees ---------------------------------------------------------------------------
@blp.route("/<int:event_id>/assignments")
class Assignments(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairAssignmentListSchema)
    def get(self, event_id):
        """Booth assignments (producers: their own)."""
        return {"results": allocation.list_assignments(current_user(), _event(event_id))}

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairAssignInSchema)
    @blp.response(201, s.FairAssignmentOutSchema)
    def post(self, data, event_id):
        """Assign an approved applicant to a booth (never double-booked: 409 ``fair.booth_taken``)."""
        return allocation.assign(current_user(), _event(event_id), data["application_id"], data["booth_id"])


@blp.route("/<int:event_id>/assignments/<int:assignment_id>")
class AssignmentItem(MethodView):
    @require_roles(*ORGANISE)
    @blp.response(204)
    def delete(self, event_id, assignment_id):
        """Take an exhibitor off its booth (while allocating; not once goods moved)."""
        allocation.unassign(current_user(), _event(event_id), assignment_id)


@blp.route("/<int:event_id>/rules")
class Rules(MethodView):
    @require_roles(*ORGANISE)
    @blp.response(200, s.FairRulesOutSchema)
    def get(self, event_id):
        """The priority rules of the automatic allocation (defaults until set)."""
        return {"rules": allocation.view_rules(current_user(), _event(event_id))}

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairRulesInSchema)
    @blp.response(200, s.FairRulesOutSchema)
    def put(self, data, event_id):
        """Replace the rules: stars, newly_certified {days}, first_time, group_mix {max_per_zone},
        quota {level: district|commune, max}."""
        return {"rules": allocation.set_rules(current_user(), _event(event_id), data["rules"])}


@blp.route("/<int:event_id>/proposal")
class Proposal(MethodView):
    @require_roles(*ORGANISE)
    @blp.response(200, s.FairProposalSchema)
    def post(self, event_id):
        """Compute an automatic allocation from the rules (nothing is written)."""
        return allocation.propose(current_user(), _event(event_id))


@blp.route("/<int:event_id>/proposal/accept")
class ProposalAccept(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairAcceptInSchema)
    @blp.response(201, s.FairAssignmentListSchema)
    def post(self, data, event_id):
        """Apply a proposal as proposed or edited: every item, or none."""
        return {"results": allocation.accept(current_user(), _event(event_id), data["items"])}


@blp.route("/<int:event_id>/fees")
class Fees(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairFeeListSchema)
    def get(self, event_id):
        """Fee lines (the booth's share of price, the subsidy, what is due); producers: their own."""
        return {"results": fees.list_fees(current_user(), _event(event_id))}


@blp.route("/<int:event_id>/fees/<int:fee_id>/pay")
class FeePay(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairPayInSchema)
    @blp.response(200, s.FairFeeOutSchema)
    def post(self, data, event_id, fee_id):
        """Record a fee paid by bank transfer (with its reference) or at the desk."""
        return fees.pay_fee(current_user(), _event(event_id), fee_id, data)


@blp.route("/<int:event_id>/fees/<int:fee_id>/transfer")
class FeeTransfer(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairFeeOutSchema)
    def post(self, event_id, fee_id):
        """Pay a fee by bank transfer: its reference and VietQR code (the same again while it waits)."""
        return fees.start_transfer(current_user(), _event(event_id), fee_id)


@blp.route("/<int:event_id>/fees/<int:fee_id>/qr.svg")
class FeeTransferQR(MethodView):
    @require_roles(*ALL)
    @blp.response(200, content_type="image/svg+xml")
    def get(self, event_id, fee_id):
        """The VietQR code of the fee's waiting bank transfer, as SVG."""
        body = fees.transfer_qr_svg(current_user(), _event(event_id), fee_id)
        return Response(body, mimetype="image/svg+xml")


# --- booth stock, sales, settlement --------------------------------------------------------------
@blp.route("/assignments/<int:assignment_id>/moves")
class Moves(MethodView):
    @require_roles(*BOOTH)
    @blp.response(200, s.FairMoveListSchema)
    def get(self, assignment_id):
        """Stock moves to and from the booth."""
        return {"results": booth_stock.list_moves(current_user(), assignment_id)}

    @require_roles(*ALL)
    @blp.arguments(s.FairMoveInSchema)
    @blp.response(201, s.FairMoveOutSchema)
    def post(self, data, assignment_id):
        """Dispatch goods to the booth (``in``) or back to the warehouse (``out``); they wait in transit."""
        return booth_stock.dispatch(current_user(), assignment_id, data)


@blp.route("/assignments/<int:assignment_id>/staff")
class Staff(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairStaffListSchema)
    def get(self, assignment_id):
        """Booth staff (operator accounts limited to this booth)."""
        return {"results": booth_stock.list_staff(current_user(), assignment_id)}

    @require_roles(*ALL)
    @blp.arguments(s.FairStaffInSchema)
    @blp.response(201, s.FairStaffOutSchema)
    def post(self, data, assignment_id):
        """Give the booth a staff account (created when a password is given): it receives goods and sells there."""
        return booth_stock.add_staff(current_user(), assignment_id, data)


@blp.route("/assignments/<int:assignment_id>/staff/<int:user_id>")
class StaffItem(MethodView):
    @require_roles(*ALL)
    @blp.response(204)
    def delete(self, assignment_id, user_id):
        """Take a staff account off the booth."""
        booth_stock.remove_staff(current_user(), assignment_id, user_id)


@blp.route("/moves/<int:move_id>/receive")
class MoveReceive(MethodView):
    @require_roles(*BOOTH)
    @blp.arguments(s.FairReceiveInSchema)
    @blp.response(200, s.FairMoveOutSchema)
    def post(self, data, move_id):
        """Receive a move; quantities short of those dispatched are written off in transit."""
        return booth_stock.receive(current_user(), move_id, data)


@blp.route("/assignments/<int:assignment_id>/sales")
class Sales(MethodView):
    @require_roles(*BOOTH)
    @blp.response(200, s.FairSaleListSchema)
    def get(self, assignment_id):
        """Sales at the booth."""
        return {"results": booth_stock.list_sales(current_user(), assignment_id)}

    @require_roles(*BOOTH)
    @blp.arguments(s.FairSaleInSchema)
    @blp.response(201, s.FairSaleOutSchema)
    def post(self, data, assignment_id):
        """A sale at the booth: a core counter-sale order on the event's ``fair_booth`` channel."""
        sale, _created = booth_stock.sell(current_user(), assignment_id, data)
        return sale


@blp.route("/sales/<int:sale_id>/return")
class SaleReturn(MethodView):
    @require_roles(*BOOTH)
    @blp.arguments(s.FairReturnInSchema)
    @blp.response(200, s.FairSaleOutSchema)
    def post(self, data, sale_id):
        """A customer brings goods back to the booth: refund, stock back."""
        return booth_stock.return_sale(current_user(), sale_id, data)


@blp.route("/assignments/<int:assignment_id>/settlement")
class Settlement(MethodView):
    @require_roles(*ALL)
    @blp.arguments(s.FairFormatQuerySchema, location="query")
    @blp.response(200, s.FairSettlementSchema)
    @blp.alt_response(200, description="format=csv: text/csv; format=xlsx: an Excel workbook",
                      content_type="text/csv", success=True)
    def get(self, args, assignment_id):
        """The exhibitor's figures: moved in, sold, customer returns, moved out, discrepancies, on hand."""
        result = booth_stock.settlement_for(current_user(), assignment_id)
        if args["format"] == "csv":
            return _download(booth_stock.to_csv(result), booth_stock.filename(result, "csv"), "csv")
        if args["format"] == "xlsx":
            return _download(booth_stock.to_xlsx(result), booth_stock.filename(result, "xlsx"), "xlsx")
        return result

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairSettleInSchema)
    @blp.response(201, s.FairSettlementSchema)
    def post(self, data, assignment_id):
        """Settle after the fair: physical counts become discrepancies; the figures are stored (once)."""
        return booth_stock.settle(current_user(), assignment_id, data)


# --- visitors, deals, meetings -------------------------------------------------------------------
@blp.route("/<int:event_id>/visitors")
class Visitors(MethodView):
    @require_roles(*ORGANISE)
    @blp.response(200, s.FairVisitorsOutSchema)
    def get(self, event_id):
        """Visitors per day and gate."""
        return trade.visitors(current_user(), _event(event_id))

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairVisitorsInSchema)
    @blp.response(201, s.FairVisitorCountOutSchema)
    def post(self, data, event_id):
        """Add visitors counted at a gate (typed, or posted by a device with ``device_ref``)."""
        return trade.record_visitors(current_user(), _event(event_id), data)


@blp.route("/<int:event_id>/deals")
class Deals(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairDealListSchema)
    def get(self, event_id):
        """B2B contracts and MoUs signed at the event (producers: their own)."""
        return {"results": trade.list_deals(current_user(), _event(event_id))}

    @require_roles(*ALL)
    @blp.arguments(s.FairDealInSchema)
    @blp.response(201, s.FairDealOutSchema)
    def post(self, data, event_id):
        """Register a contract or MoU (parties, products, value in VND, quantity, follow-up date)."""
        return trade.record_deal(current_user(), _event(event_id), data)


@blp.route("/deals/<int:deal_id>")
class DealItem(MethodView):
    @require_roles(*ALL)
    @blp.arguments(s.FairDealPatchSchema)
    @blp.response(200, s.FairDealOutSchema)
    def patch(self, data, deal_id):
        """signed → in_progress → delivered / lapsed; the follow-up date."""
        return trade.update_deal(current_user(), deal_id, data)


@blp.route("/<int:event_id>/meetings")
class Meetings(MethodView):
    @require_roles(*ALL)
    @blp.response(200, s.FairMeetingListSchema)
    def get(self, event_id):
        """Scheduled buyer–producer meetings (producers: their own)."""
        return {"results": trade.list_meetings(current_user(), _event(event_id))}

    @require_roles(*ORGANISE)
    @blp.arguments(s.FairMeetingInSchema)
    @blp.response(201, s.FairMeetingOutSchema)
    def post(self, data, event_id):
        """Book a meeting on a table in a 30-minute slot (no table, producer or buyer double-booked)."""
        return trade.book_meeting(current_user(), _event(event_id), data)


# --- reports -----------------------------------------------------------------------------------
@blp.route("/<int:event_id>/report")
class EventReport(MethodView):
    @require_roles(*ORGANISE)
    @blp.response(200, s.FairReportSchema)
    def get(self, event_id):
        """Exhibitors, booths filled, sales by product group and producer, visitors, deals."""
        return reports.event_report(current_user(), _event(event_id))


@blp.route("/reports/province")
class ProvinceReport(MethodView):
    @require_roles(*ORGANISE)
    @blp.arguments(s.FairProvinceQuerySchema, location="query")
    @blp.response(200, s.FairProvinceReportSchema)
    @blp.alt_response(200, description="format=csv: text/csv; format=xlsx: an Excel workbook",
                      content_type="text/csv", success=True)
    def get(self, args):
        """Rounds of OCOP booths in a province's year against the plan's target, producers, GMV."""
        result = reports.province_year(current_user(), args)
        if args["format"] in ("csv", "xlsx"):
            rows = reports.province_rows(result)
            content = reports.rows_to_csv(rows) if args["format"] == "csv" else reports.rows_to_xlsx(rows)
            return _download(content, f"hoi-cho-{result['province_code']}-{result['year']}.{args['format']}",
                             args["format"])
        return result
