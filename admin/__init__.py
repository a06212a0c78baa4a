"""Authenticated admin REST API under ``/admin/v1`` (bearer tokens, role-checked)."""
import importlib

MODULES = ("admin.auth", "admin.plugins", "admin.producers", "admin.products", "admin.certifications",
           "admin.stock", "admin.sales_channels",
           "admin.users", "admin.audit", "admin.geo", "admin.notifications", "admin.reports",
           "admin.imports", "admin.orders", "admin.refunds_due", "admin.promotions", "admin.province_reports")


def register(api) -> None:
    """Register every admin blueprint on the flask-smorest ``api``."""
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        api.register_blueprint(module.blp)
