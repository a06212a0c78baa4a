"""Admin API of the sales points plugin under ``/admin/v1/sales-points`` (routes parse, call a service, serialise)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.security import current_user, require_roles
from plugins.sales_points import operations, pos, reports, services, settlement
from plugins.sales_points import schemas as s

blp = Blueprint("sales_points", __name__, url_prefix="/admin/v1/sales-points",
                description="OCOP sales points: registry, stock, counter sales, consignment (plugin)")

READ = ("admin", "organiser", "operator", "producer")
STAFF = ("admin", "organiser", "operator")
REGISTRY = ("admin", "organiser")
OPERATE = ("admin", "operator")


def _point(point_id: int):
    return services.get_point(point_id)


# --- registry ---------------------------------------------------------------------------
@blp.route("")
class SalesPoints(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpSalesPointQuerySchema, location="query")
    @blp.response(200, s.SalesPointPageSchema)
    def get(self, args):
        """Sales points in your scope (operators: yours; organisers: your province; producers and admin: all)."""
        return services.list_points(current_user(), args)

    @require_roles(*REGISTRY)
    @blp.arguments(s.SpSalesPointInSchema)
    @blp.response(201, s.SpSalesPointOutSchema)
    def post(self, data):
        """Register a sales point in your province; creates its stock location and sales channel."""
        return services.create_point(current_user(), data)


@blp.route("/<int:point_id>")
class SalesPointItem(MethodView):
    @require_roles(*READ)
    @blp.response(200, s.SpSalesPointOutSchema)
    def get(self, point_id):
        """One sales point."""
        return services.view_point(current_user(), point_id)

    @require_roles(*REGISTRY)
    @blp.arguments(s.SpSalesPointPatchSchema)
    @blp.response(200, s.SpSalesPointOutSchema)
    def patch(self, data, point_id):
        """Edit a sales point (status, opening hours, commission, allow_unlisted, …)."""
        return services.update_point(current_user(), _point(point_id), data)


@blp.route("/<int:point_id>/operators")
class Operators(MethodView):
    @require_roles(*STAFF)
    @blp.response(200, s.SpOperatorListSchema)
    def get(self, point_id):
        """Operators bound to the point."""
        return services.list_operators(current_user(), _point(point_id))

    @require_roles(*REGISTRY)
    @blp.arguments(s.SpOperatorBindSchema)
    @blp.response(201, s.SpOperatorOutSchema)
    def post(self, data, point_id):
        """Bind an operator user (created when a password is given)."""
        return services.bind_operator(current_user(), _point(point_id), data)


@blp.route("/<int:point_id>/operators/<int:user_id>")
class OperatorItem(MethodView):
    @require_roles(*REGISTRY)
    @blp.response(204)
    def delete(self, point_id, user_id):
        """Unbind an operator from the point."""
        services.unbind_operator(current_user(), _point(point_id), user_id)


@blp.route("/<int:point_id>/consignments")
class Consignments(MethodView):
    @require_roles(*READ)
    @blp.response(200, s.SpConsignmentListSchema)
    def get(self, point_id):
        """Consignment agreements of the point (producers: their own)."""
        return services.list_agreements(current_user(), _point(point_id))

    @require_roles("admin", "organiser", "operator")
    @blp.arguments(s.SpConsignmentInSchema)
    @blp.response(201, s.SpConsignmentOutSchema)
    def post(self, data, point_id):
        """Record a consignment agreement with a producer (commission rate or the point's default)."""
        return services.create_agreement(current_user(), _point(point_id), data)


@blp.route("/consignments/<int:agreement_id>/end")
class ConsignmentEnd(MethodView):
    @require_roles("admin", "organiser", "operator")
    @blp.arguments(s.SpConsignmentEndSchema)
    @blp.response(200, s.SpConsignmentOutSchema)
    def post(self, data, agreement_id):
        """End a consignment agreement on a date."""
        return services.end_agreement(current_user(), agreement_id, data["valid_to"])


# --- receipts -------------------------------------------------------------------------------
@blp.route("/<int:point_id>/receipts")
class Receipts(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpDocQuerySchema, location="query")
    @blp.response(200, s.ReceiptPageSchema)
    def get(self, args, point_id):
        """Goods receipt notes of the point (producers: their own deliveries)."""
        return operations.list_receipts(current_user(), _point(point_id), args)

    @require_roles(*OPERATE)
    @blp.arguments(s.SpReceiptInSchema)
    @blp.response(201, s.SpReceiptOutSchema)
    def post(self, data, point_id):
        """Post a goods receipt from a producer (lines by SKU or GTIN; lot and best-before for food/beverages)."""
        return operations.create_receipt(current_user(), _point(point_id), data)


@blp.route("/receipts/<int:receipt_id>")
class ReceiptItem(MethodView):
    @require_roles(*READ)
    @blp.response(200, s.SpReceiptOutSchema)
    def get(self, receipt_id):
        """One goods receipt note."""
        return operations.get_receipt(current_user(), receipt_id)


@blp.route("/receipts/<int:receipt_id>/reverse")
class ReceiptReverse(MethodView):
    @require_roles(*OPERATE)
    @blp.arguments(s.SpReverseSchema)
    @blp.response(200, s.SpReceiptOutSchema)
    def post(self, data, receipt_id):
        """Correct a receipt by reversing it (reversing movements; receipts are never edited)."""
        user = current_user()
        return operations.reverse_receipt(user, operations.get_receipt(user, receipt_id), data["reason"])


# --- transfers --------------------------------------------------------------------------------
@blp.route("/<int:point_id>/transfers")
class Transfers(MethodView):
    @require_roles(*STAFF)
    @blp.arguments(s.SpTransferQuerySchema, location="query")
    @blp.response(200, s.TransferPageSchema)
    def get(self, args, point_id):
        """Transfers leaving or reaching the point."""
        return operations.list_transfers(current_user(), _point(point_id), args)

    @require_roles(*OPERATE)
    @blp.arguments(s.SpTransferInSchema)
    @blp.response(201, s.SpTransferOutSchema)
    def post(self, data, point_id):
        """Dispatch goods to another point or a producer warehouse (step 1: goods go in transit)."""
        return operations.dispatch_transfer(current_user(), _point(point_id), data)


@blp.route("/transfers/<int:transfer_id>")
class TransferItem(MethodView):
    @require_roles(*STAFF)
    @blp.response(200, s.SpTransferOutSchema)
    def get(self, transfer_id):
        """One transfer."""
        return operations.get_transfer(current_user(), transfer_id)


@blp.route("/transfers/<int:transfer_id>/receive")
class TransferReceive(MethodView):
    @require_roles("admin", "operator", "producer")
    @blp.arguments(s.SpTransferReceiveSchema)
    @blp.response(200, s.SpTransferOutSchema)
    def post(self, data, transfer_id):
        """Receive a transfer (step 2), recording any shortfall with a reason."""
        return operations.receive_transfer(current_user(), operations.find_transfer(transfer_id), data)


# --- counts, returns to producers, stock, thresholds, alerts ------------------------------------
@blp.route("/<int:point_id>/counts")
class Counts(MethodView):
    @require_roles(*STAFF)
    @blp.arguments(s.PageArgsSchema, location="query")
    @blp.response(200, s.CountPageSchema)
    def get(self, args, point_id):
        """Stock counts of the point."""
        return operations.list_counts(current_user(), _point(point_id), args)

    @require_roles(*OPERATE)
    @blp.arguments(s.SpCountInSchema)
    @blp.response(201, s.SpCountOutSchema)
    def post(self, data, point_id):
        """Post a stock count; differences become count movements with a reason."""
        return operations.post_count(current_user(), _point(point_id), data)


@blp.route("/<int:point_id>/producer-returns")
class ProducerReturns(MethodView):
    @require_roles(*OPERATE)
    @blp.arguments(s.SpProducerReturnInSchema)
    @blp.response(201, s.SpProducerReturnOutSchema)
    def post(self, data, point_id):
        """Hand goods back to their producer."""
        return operations.return_to_producer(current_user(), _point(point_id), data)


@blp.route("/<int:point_id>/stock")
class PointStock(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpStockQuerySchema, location="query")
    @blp.response(200, s.StockPageSchema)
    def get(self, args, point_id):
        """Stock on hand with lots (producers: only their products)."""
        return operations.point_stock(current_user(), _point(point_id), args)


@blp.route("/<int:point_id>/thresholds")
class Thresholds(MethodView):
    @require_roles(*STAFF)
    @blp.response(200, s.SpThresholdListSchema)
    def get(self, point_id):
        """Low-stock thresholds per variant (others use the point's default)."""
        return operations.list_thresholds(current_user(), _point(point_id))

    @require_roles(*OPERATE)
    @blp.arguments(s.SpThresholdsInSchema)
    @blp.response(200, s.SpThresholdListSchema)
    def put(self, data, point_id):
        """Set low-stock thresholds per variant."""
        return operations.set_thresholds(current_user(), _point(point_id), data)


@blp.route("/<int:point_id>/alerts")
class Alerts(MethodView):
    @require_roles(*STAFF)
    @blp.arguments(s.SpAlertQuerySchema, location="query")
    @blp.response(200, s.AlertPageSchema)
    def get(self, args, point_id):
        """Open low-stock, near-expiry and expired-lot alerts (raised daily)."""
        return operations.list_alerts(current_user(), _point(point_id), args)


@blp.route("/alerts/<int:alert_id>/acknowledge")
class AlertAck(MethodView):
    @require_roles(*OPERATE)
    @blp.response(200, s.SpAlertOutSchema)
    def post(self, alert_id):
        """Mark an alert as seen."""
        return operations.acknowledge_alert(current_user(), alert_id)


# --- POS --------------------------------------------------------------------------------------
@blp.route("/<int:point_id>/lookup")
class Lookup(MethodView):
    @require_roles(*OPERATE)
    @blp.arguments(s.SpLookupQuerySchema, location="query")
    @blp.response(200, s.SpLookupOutSchema)
    def get(self, args, point_id):
        """Scan: product, price and free quantity for a barcode (GTIN) or SKU; 404 for an unknown code."""
        return pos.lookup(current_user(), _point(point_id), args["code"])


@blp.route("/<int:point_id>/sales")
class Sales(MethodView):
    @require_roles(*STAFF)
    @blp.arguments(s.SpDocQuerySchema, location="query")
    @blp.response(200, s.SalePageSchema)
    def get(self, args, point_id):
        """Counter sales of the point, newest first."""
        return pos.list_sales(current_user(), _point(point_id), args)

    @require_roles(*OPERATE)
    @blp.arguments(s.SpSaleInSchema)
    @blp.response(201, s.SpSaleOutSchema)
    def post(self, data, point_id):
        """Record a counter sale (paid and handed over at once; stock FEFO by lot). A replayed client_ref → 200."""
        sale, created = pos.create_sale(current_user(), _point(point_id), data)
        return sale, (201 if created else 200)


@blp.route("/sales/<int:sale_id>")
class SaleItem(MethodView):
    @require_roles(*STAFF)
    @blp.response(200, s.SpSaleOutSchema)
    def get(self, sale_id):
        """One sale with its receipt data (for printing)."""
        return pos.get_sale(current_user(), sale_id)


@blp.route("/sales/<int:sale_id>/void")
class SaleVoid(MethodView):
    @require_roles(*OPERATE)
    @blp.arguments(s.SpVoidSchema)
    @blp.response(200, s.SpSaleOutSchema)
    def post(self, data, sale_id):
        """Void a same-day sale with a reason (stock goes back to its lots)."""
        user = current_user()
        return pos.void_sale(user, pos.get_sale(user, sale_id), data["reason"])


@blp.route("/sales/<int:sale_id>/returns")
class SaleReturns(MethodView):
    @require_roles(*OPERATE)
    @blp.arguments(s.SpSaleReturnInSchema)
    @blp.response(201, s.SpSaleReturnOutSchema)
    def post(self, data, sale_id):
        """A customer returns part of a sale (reason; restocked unless damaged)."""
        user = current_user()
        return pos.return_items(user, pos.get_sale(user, sale_id), data)


# --- settlement and reports ----------------------------------------------------------------------
@blp.route("/<int:point_id>/settlement")
class Settlement(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpSettlementQuerySchema, location="query")
    @blp.response(200, s.SpSettlementSchema)
    @blp.alt_response(200, description="format=csv: text/csv; format=xlsx: an Excel workbook",
                      content_type="text/csv", success=True)
    def get(self, args, point_id):
        """Consignment settlement of a producer over a period (received, sold, returned, on hand; commission;
        amount owed). ``format=csv`` or ``xlsx`` downloads it."""
        result = settlement.settlement_for(current_user(), _point(point_id), args)
        if args["format"] == "csv":
            return Response(settlement.to_csv(result), mimetype="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{settlement.filename(result, "csv")}"'})
        if args["format"] == "xlsx":
            return Response(settlement.to_xlsx(result),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{settlement.filename(result, "xlsx")}"'})
        return result


@blp.route("/<int:point_id>/reports/sales")
class SalesReport(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpSalesReportQuerySchema, location="query")
    @blp.response(200)
    def get(self, args, point_id):
        """Net sales in a period by product, producer or group (producers: their products)."""
        return reports.sales_report(current_user(), _point(point_id), args)


@blp.route("/<int:point_id>/reports/stock")
class StockReport(MethodView):
    @require_roles(*READ)
    @blp.response(200)
    def get(self, point_id):
        """Stock on hand with retail and cost value."""
        return reports.stock_report(current_user(), _point(point_id))


@blp.route("/<int:point_id>/reports/slow-movers")
class SlowMovers(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpSlowMoverQuerySchema, location="query")
    @blp.response(200)
    def get(self, args, point_id):
        """Goods on hand that sold little or nothing over the last days."""
        return reports.slow_movers(current_user(), _point(point_id), args)


@blp.route("/<int:point_id>/reports/near-expiry")
class NearExpiry(MethodView):
    @require_roles(*READ)
    @blp.arguments(s.SpNearExpiryQuerySchema, location="query")
    @blp.response(200)
    def get(self, args, point_id):
        """Lots close to (or past) their best-before date."""
        return reports.near_expiry(current_user(), _point(point_id), args)


@blp.route("/reports/province")
class ProvinceReport(MethodView):
    @require_roles(*REGISTRY)
    @blp.arguments(s.SpProvinceReportQuerySchema, location="query")
    @blp.response(200)
    def get(self, args):
        """Number of sales points and their turnover in a province (organisers: their own)."""
        return reports.province_report(current_user(), args)


@blp.route("/producer/stock")
class ProducerStock(MethodView):
    @require_roles("admin", "organiser", "producer")
    @blp.arguments(s.SpProducerStockQuerySchema, location="query")
    @blp.response(200, s.StockPageSchema)
    def get(self, args):
        """A producer's products in stock at every sales point (producer users: their own)."""
        return operations.producer_stock(current_user(), args)


@blp.route("/producer/sales")
class ProducerSales(MethodView):
    @require_roles("admin", "organiser", "producer")
    @blp.arguments(s.SpProducerSalesQuerySchema, location="query")
    @blp.response(200)
    def get(self, args):
        """A producer's counter sales at every sales point over a period."""
        return reports.producer_sales(current_user(), args)
