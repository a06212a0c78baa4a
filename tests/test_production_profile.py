"""The production profile end to end: gunicorn (2 workers) on PostgreSQL, a Celery worker and beat, on the
Redis broker and again on RabbitMQ, configured with ``OCOP_*`` variables only.

Each run checks that a checkout's notification e-mail is delivered by the worker (real SMTP server on
127.0.0.1) and its order's webhook by the worker too (real HTTP receiver); that beat expires a
certification and the product leaves search; that a search-index update and an order made while the
broker is unreachable are applied once it is back (no ``ocop search sync``); that a worker killed
mid-delivery loses nothing (late acks: the message is delivered again); that ``/metrics`` sums every
gunicorn and Celery worker; and that stopping everything leaves no stuck rows.

"Broker down" is a TCP relay in front of the machine's broker that the test closes and reopens (the
machine's own Redis/RabbitMQ cannot be stopped): for every process the broker's port refuses
connections. Runs only with ``OCOP_TEST_PROFILE=1`` on PostgreSQL (``.ci/run`` has a step for it).
"""
from __future__ import annotations

import glob
import http.client
import json
import os
import random
import signal
import string
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, text

from core.db import db
from core.certification.models import Certification
from core.notifications.models import Notification
from core.sales.models import Order
from core.catalogue.models import Product
from core.search.models import SearchOutbox
from core.inventory import ledger
from plugins.webhooks.models import WebhookDelivery
from support.orders import ADDRESS_DONG_NAI, CONTACT
from support.services import need_service, port_open, redis_address
from support.smtp_sink import SmtpSink
from support.tcp_proxy import TcpProxy, free_port
from support.webhook_receiver import Receiver, verify_webhook

pytestmark = [pytest.mark.profile,
              pytest.mark.skipif(os.environ.get("OCOP_TEST_PROFILE") != "1",
                                 reason="production-profile run only (.ci/run sets OCOP_TEST_PROFILE=1)")]

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 9  # used by nothing else in the suite: a short visibility timeout here touches only this test
BROKERS = {"redis": redis_address(), "rabbitmq": ("127.0.0.1", 5672)}  # OCOP_TEST_REDIS_URL
FAST_BEAT = {"expire-certifications-daily": 2, "search-outbox-sync": 2, "notifications-requeue": 2,
             "webhooks-retry-due": 2}


def _wait(predicate, what: str, seconds: float = 60.0, procs=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        for proc in procs or ():
            assert proc.poll() is None, f"{proc.args[:6]} exited with {proc.returncode} while waiting for {what}"
        time.sleep(0.25)
    pytest.fail(f"not reached within {seconds:.0f} s: {what}")


class Http:
    """JSON over a new connection per request to the gunicorn under test."""

    def __init__(self, port: int):
        self.port = port

    def __call__(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            data = response.read()
            if raw:
                return response.status, data.decode(), dict(response.getheaders())
            return response.status, (json.loads(data) if data else None), dict(response.getheaders())
        finally:
            conn.close()


class Stack:
    """gunicorn, the Celery worker and beat, with their logs; started and stopped by the test."""

    def __init__(self, env: dict, workdir: Path):
        self.env, self.workdir = env, workdir
        self.web_port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.workers_started = 0

    def _start(self, name: str, args: list[str], log_name: str | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{log_name or name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=self.workdir, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_web(self):
        return self._start("web", ["gunicorn", "-c", "python:core.gunicorn_conf", "-w", "2",
                                   "-b", f"127.0.0.1:{self.web_port}", "core.wsgi:app"])

    def start_worker(self):
        self.workers_started += 1
        return self._start("worker", ["celery", "-A", "core.celery_worker", "worker", "--pool", "solo",
                                      "--without-gossip", "--without-mingle", "--without-heartbeat",
                                      "-n", f"profile{self.workers_started}-{uuid.uuid4().hex[:6]}@localhost",
                                      "--loglevel", "INFO"], log_name=f"worker{self.workers_started}")

    def start_beat(self):
        return self._start("beat", ["celery", "-A", "core.celery_worker", "beat", "--loglevel", "INFO",
                                    "-s", str(self.workdir / "beat-schedule")])

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, sig=signal.SIGTERM, timeout: float = 30) -> int:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else 0
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=10)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def tails(self) -> str:
        names = ["web", "beat", *(f"worker{n}" for n in range(1, self.workers_started + 1))]
        return "\n".join(f"--- {name}.log ---\n{self.log(name)[-4000:]}" for name in names)


@pytest.fixture(params=sorted(BROKERS))
def profile(request, app, demo, postgres_url, tmp_path):
    broker = request.param
    host, port = BROKERS[broker]
    need_service(broker, port_open(host, port), f"{broker} on {host}:{port}")
    proxy = TcpProxy(host, port)
    proxy.open()
    smtp, receiver = SmtpSink(), Receiver()
    queue = f"ocop-profile-{uuid.uuid4().hex[:10]}"
    broker_url = (f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}" if broker == "redis"
                  else f"amqp://guest:guest@127.0.0.1:{proxy.port}//")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8",
           "NO_PROXY": "127.0.0.1,localhost",
           "OCOP_DATABASE_URL": postgres_url, "OCOP_BROKER_URL": broker_url, "OCOP_CELERY_QUEUE": queue,
           "OCOP_SECRET_KEY": uuid.uuid4().hex * 2, "OCOP_INSTANCE_PATH": str(tmp_path / "instance"),
           "OCOP_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "OCOP_MAIL_FROM": "ocop@example.vn",
           "OCOP_PUBLIC_BASE_URL": "https://ocop.example.vn", "OCOP_TODAY": os.environ.get("OCOP_TODAY", "2026-11-23"),
           "OCOP_METRICS_DIR": str(tmp_path / "metrics"), "OCOP_LOG_FORMAT": "json", "OCOP_LOG_LEVEL": "INFO",
           "OCOP_BEAT_SCHEDULE": json.dumps(FAST_BEAT), "OCOP_NOTIFICATIONS_REQUEUE_AFTER": "3",
           "OCOP_WEBHOOKS_ALLOW_PRIVATE": "1", "OCOP_WEBHOOKS_TIMEOUT": "3", "OCOP_WEBHOOKS_RETRY_BASE": "2",
           "OCOP_WEBHOOKS_SWEEP_GRACE": "3"}
    if broker == "redis":  # redeliver a killed worker's message after 8 s (default: one hour)
        env["OCOP_BROKER_TRANSPORT_OPTIONS"] = json.dumps({"visibility_timeout": 8, "unacked_restore_interval": 1,
                                                           "unacked_restore_throttle": 1})
    stack = Stack(env, tmp_path)
    try:
        yield {"broker": broker, "proxy": proxy, "smtp": smtp, "receiver": receiver, "stack": stack,
               "http": Http(stack.web_port), "queue": queue}
    finally:
        stack.stop_all()
        proxy.shutdown()
        smtp.close()
        receiver.close()
        _forget_queue(broker, queue)


def _forget_queue(broker: str, queue: str) -> None:
    if broker == "redis":
        import redis  # the dev extra's client; only needed to tidy this test's keys
        client = redis.Redis(host=redis_address()[0], port=redis_address()[1], db=REDIS_DB)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()
    else:
        from kombu import Connection  # only needed to tidy this test's queue
        with Connection("amqp://guest:guest@127.0.0.1:5672//") as conn:
            try:
                conn.default_channel.queue_delete(queue)
            except Exception:
                pass


def _checkout(http, request_id: str) -> str:
    status, body, _ = http("POST", "/storefront/v1/checkouts",
                           {"lines": [{"sku": "VQ-CAM-5KG", "quantity": 1}], **CONTACT,
                            "shipping_address": ADDRESS_DONG_NAI})
    assert status == 201, body
    token = body["token"]
    status, body, _ = http("PATCH", f"/storefront/v1/checkouts/{token}", {"delivery_method": "standard"})
    assert status == 200, body
    status, body, headers = http("POST", f"/storefront/v1/checkouts/{token}/complete",
                                 headers={"X-Request-ID": request_id})
    assert status == 201, body
    assert headers["X-Request-ID"] == request_id
    return body["number"]


def _json_lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def _search(http, q: str) -> set[str]:
    status, body, _ = http("GET", f"/storefront/v1/search?q={quote(q)}&limit=50")
    assert status == 200, body
    return {hit["slug"] for hit in body["results"]}


def _shopper_mail(smtp, number: str) -> bool:
    return f"Đã nhận đơn hàng {number}" in smtp.subjects()


def _notifications_sent(number: str) -> bool:
    order = db.session.execute(select(Order).where(Order.number == number)).scalar_one()
    rows = db.session.execute(select(Notification.status, Notification.email).where(
        Notification.dedupe_key.like(f"order:{order.id}:order_placed:%"))).all()
    return bool(rows) and all(status == ("sent" if email else "stored") for status, email in rows)


def test_production_profile(profile):
    broker, proxy, smtp, receiver = profile["broker"], profile["proxy"], profile["smtp"], profile["receiver"]
    stack, http = profile["stack"], profile["http"]
    started = time.monotonic()
    web, worker, beat = stack.start_web(), stack.start_worker(), stack.start_beat()
    procs = [web, worker, beat]
    try:
        _wait(lambda: port_open("127.0.0.1", stack.web_port) and http("GET", "/readyz")[0] == 200,
              "gunicorn ready (database, broker, search)", 90, procs)
        status, token, _ = http("POST", "/auth/token", {"username": "admin", "password": "ocop-demo-2026"})
        admin = {"Authorization": f"Bearer {token['token']}"}
        status, sub, _ = http("POST", "/admin/v1/webhooks/subscriptions", {
            "integrator": "Kế toán HTX", "url": receiver.url, "events": ["order.created", "product.delisted"]},
            headers=admin)
        assert status == 201, sub

        # 1. a checkout's notification: e-mailed by the worker; its webhook delivered, signed, by the worker
        number = _checkout(http, "profile-checkout-1")
        _wait(lambda: _shopper_mail(smtp, number), "the shopper's e-mail", 60, procs)
        _wait(lambda: _notifications_sent(number), "notifications marked sent", 30, procs)
        hook = next(r for r in receiver.wait_for(1, 60) if r["headers"]["x-ocop-event"] == "order.created")
        assert verify_webhook(sub["secret"], hook["headers"], hook["body"])["data"]["order"]["number"] == number
        assert hook["headers"]["x-request-id"] == "profile-checkout-1"
        worker_lines = _json_lines(stack.log("worker1"))
        assert any(line.get("request_id") == "profile-checkout-1" and "ocop.orders.notify" in line["message"]
                   for line in worker_lines), "the request id did not reach the worker's log"

        # 2. beat expires a certification; the product leaves search (drained by the worker)
        oil = db.session.execute(select(Product).where(Product.name == "Tinh dầu bưởi Bình Lợi")).scalar_one()
        assert oil.slug in _search(http, "tinh dau buoi")
        cert = oil.current_certification()
        db.session.execute(text("UPDATE certification SET expires_on = :d WHERE id = :id"),
                           {"d": "2026-11-22", "id": cert.id})
        db.session.commit()
        _wait(lambda: db.session.get(Certification, cert.id).status == "expired", "beat expired the certificate",
              60, procs)
        _wait(lambda: oil.slug not in _search(http, "tinh dau buoi"), "the product left search", 60, procs)
        _wait(lambda: any(r["headers"]["x-ocop-event"] == "product.delisted" for r in receiver.requests),
              "product.delisted webhook (fired in the worker)", 60, procs)

        # 3. broker unreachable: a rename and an order still succeed; both are applied once it is back
        other = db.session.execute(select(Product).where(Product.is_listed.is_(True), Product.id != oil.id)
                                   .order_by(Product.id)).scalars().first()
        word = "kiemtra" + "".join(random.choices(string.ascii_lowercase, k=8))
        proxy.close()
        t0 = time.monotonic()
        status, body, _ = http("PATCH", f"/admin/v1/products/{other.id}", {"name": f"{other.name} {word}"},
                               headers=admin)
        assert status == 200, body
        rename_seconds = time.monotonic() - t0
        down_number = _checkout(http, "profile-checkout-broker-down")
        assert _search(http, word) == set()
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(SearchOutbox).where(
            SearchOutbox.product_id == other.id, SearchOutbox.processed_at.is_(None))).scalar_one() >= 1
        time.sleep(2)
        proxy.open()
        _wait(lambda: other.slug in _search(http, word), "the rename reached search after the broker came back",
              90, procs)
        _wait(lambda: _shopper_mail(smtp, down_number), "the broker-down order's e-mail (requeued by beat)", 90, procs)
        _wait(lambda: _notifications_sent(down_number), "broker-down notifications sent", 60, procs)

        # 4. the worker is killed in the middle of an SMTP delivery: nothing is lost (late acks)
        smtp.hold_next()
        kill_number = _checkout(http, "profile-checkout-kill")
        assert smtp.holding.wait(150), "the worker never started the held delivery\n" + stack.tails()
        worker.kill()
        worker.wait(timeout=10)
        smtp.release()
        assert not _shopper_mail(smtp, kill_number)
        held = [line["message"] for line in _json_lines(stack.log("worker1"))
                if line["message"].startswith("Task ocop.notifications.deliver[") and "received" in line["message"]][-1]
        held_task = held.split("[", 1)[1].split("]", 1)[0]
        worker = stack.start_worker()
        procs = [web, worker, beat]
        _wait(lambda: _shopper_mail(smtp, kill_number), "the killed delivery, delivered again", 90, procs)
        # the very message the killed worker had taken was handed out again (late ack), not only requeued by beat
        assert any(held_task in line["message"] and "received" in line["message"]
                   for line in _json_lines(stack.log("worker2"))), f"task {held_task} was not redelivered"
        _wait(lambda: _notifications_sent(kill_number), "killed-delivery notifications sent", 60, procs)

        # 5. /metrics under gunicorn sums every worker process (web and Celery)
        counted = {"n": 0}
        lock = threading.Lock()

        def hammer():
            for _ in range(25):
                assert http("GET", "/healthz")[0] == 200
                with lock:
                    counted["n"] += 1
        web_workers = set(map(int, Path(f"/proc/{web.pid}/task/{web.pid}/children").read_text().split()))
        assert len(web_workers) == 2
        for _ in range(20):  # until both gunicorn workers have answered some requests
            threads = [threading.Thread(target=hammer) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            pids = {int(Path(p).stem.rsplit("_", 1)[1])
                    for p in glob.glob(str(stack.workdir / "metrics" / "counter_*.db"))}
            if web_workers <= pids:
                break
        assert web_workers <= pids and worker.pid in pids, (web_workers, worker.pid, pids)
        scrapes = [http("GET", "/metrics", raw=True) for _ in range(4)]
        for status, exposition, _ in scrapes:
            assert status == 200
            healthz = sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
                          if line.startswith('ocop_http_requests_total{') and 'route="/healthz"' in line)
            assert healthz >= counted["n"]
            assert 'ocop_celery_tasks_total{outcome="success",task="ocop.orders.notify"}' in exposition
            assert "ocop_orders{" in exposition and "ocop_search_outbox_pending" in exposition

        # 6. stopping everything (TERM) leaves nothing stuck
        _wait(lambda: db.session.execute(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status != "succeeded")).scalar_one() == 0, "every webhook delivered", 60, procs)
        for name in ("beat", "web", "worker"):
            assert stack.stop(name) == 0, f"{name} did not stop cleanly\n{stack.tails()}"
        db.session.rollback()
        pending = db.session.execute(select(Notification.dedupe_key, Notification.status).where(
            Notification.status.not_in(("sent", "stored")))).all()
        assert pending == []
        assert db.session.execute(select(func.count()).select_from(SearchOutbox).where(
            SearchOutbox.processed_at.is_(None))).scalar_one() == 0
        statuses = dict(db.session.execute(select(WebhookDelivery.status, func.count())
                                           .group_by(WebhookDelivery.status)).all())
        assert set(statuses) == {"succeeded"} and statuses["succeeded"] >= 3  # created ×3 (+ delisted)
        assert ledger.verify_ledger() == []
        print(f"\nprofile broker={broker} seconds={time.monotonic() - started:.1f} "
              f"rename_with_broker_down_s={rename_seconds:.2f} workers_started={stack.workers_started}")
    except BaseException:
        print(stack.tails())
        raise
