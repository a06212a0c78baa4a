"""Hook implementations of the ``hello`` test plugin."""
from __future__ import annotations

from pathlib import Path

import click
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import commit, component_table_args, db
from core.hookspecs import hookimpl

COMPONENT = "hello"
#: every hook call received, for the tests to inspect: (hook name, argument summary)
RECEIVED: list[tuple[str, object]] = []


class HelloGreeting(db.Model):
    __tablename__ = "hello_greeting"
    __table_args__ = component_table_args(COMPONENT)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


blp = Blueprint("hello", __name__, url_prefix="/storefront/v1/hello", description="Hello plugin")


@blp.route("")
class Greetings(MethodView):
    def get(self):
        """Greetings stored by the hello plugin."""
        rows = db.session.execute(select(HelloGreeting).order_by(HelloGreeting.id)).scalars().all()
        return {"results": [r.text for r in rows], "total": len(rows), "next": None}

    def post(self):
        """Store a greeting."""
        db.session.add(HelloGreeting(text="xin chào"))
        commit()
        return {"ok": True}, 201


@hookimpl
def register_blueprints(app, api):
    return [blp]


@hookimpl
def register_migrations():
    return (COMPONENT, str(Path(__file__).parent / "migrations" / "versions"))


@hookimpl
def register_cli(cli):
    @cli.command("hello")
    def hello():
        """Say hello (from the hello plugin)."""
        click.echo("xin chào from ocop-hello-plugin")


_TASKS: dict = {}


@hookimpl
def register_tasks(celery):
    if "ping" not in _TASKS:  # the hook runs once per app built; define the task once per process
        @celery.task(name="hello.ping")
        def ping():
            RECEIVED.append(("task", "ping"))
            return "pong"

        _TASKS["ping"] = ping
    return {"hello-every-hour": {"task": "hello.ping", "schedule": 3600.0}}


@hookimpl
def register_sales_channel_kinds(registry):
    registry.add("hello_kiosk", "Ki-ốt chào", "Hello kiosk")


@hookimpl
def register_stock_location_kinds(registry):
    registry.add("hello_shelf", "Kệ chào", "Hello shelf")


@hookimpl
def search_document(product, document):
    RECEIVED.append(("search_document", product.slug))
    return {"hello": True}


@hookimpl
def reports(user):
    return [{"code": "hello", "name": "Báo cáo chào", "name_en": "Hello report", "url": "/storefront/v1/hello"}]


@hookimpl
def product_listed(product):
    RECEIVED.append(("product_listed", product.slug))


@hookimpl
def product_delisted(product, reason):
    RECEIVED.append(("product_delisted", (product.slug, reason)))


@hookimpl
def certification_changed(certification, previous_status):
    RECEIVED.append(("certification_changed", (certification.id, previous_status)))


@hookimpl
def certification_expiring(certification, days_left):
    RECEIVED.append(("certification_expiring", (certification.id, days_left)))


@hookimpl
def order_created(order):
    RECEIVED.append(("order_created", order.number))


@hookimpl
def order_paid(order, payment):
    RECEIVED.append(("order_paid", (order.number, payment.gateway, payment.amount)))


@hookimpl
def order_fulfilled(order, fulfilment):
    RECEIVED.append(("order_fulfilled", (order.number, fulfilment.producer_id)))
