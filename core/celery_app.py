"""The Celery app, bound to the Flask app; eager (in-process) when no broker is configured."""
from __future__ import annotations

import os
import threading

from celery import Celery, Task
from celery.schedules import crontab
from flask import current_app, has_app_context

from core.db import commit, db, refresh_statistics, release_idle_connection

REDIS_TRANSPORT = "core.broker_redis:Transport"
_bound = {"app": None}  # the Flask app of the last init_celery (a worker has exactly one)


class FlaskTask(Task):
    """Runs every task in a fresh app context (its own DB session).

    The app is the *calling* one when there is an app context (eager tasks in
    a request, tests with several apps), else the app bound by init_celery.
    A class-level closure over the first app would pin every task to it.
    In-process, the caller's session gives back a connection it holds only for reads first
    (:func:`core.db.release_idle_connection`), so the task never waits on the pool for a second one.
    """

    def __call__(self, *args, **kwargs):
        if has_app_context():
            app = current_app._get_current_object()
            release_idle_connection()  # in-process: the caller's read-only connection goes back to the pool
        else:
            app = _bound["app"]
        with app.app_context():
            try:
                result = self.run(*args, **kwargs)
                commit()  # the task owns its unit of work; after-commit hooks run here
                return result
            except BaseException:
                db.session.rollback()
                raise


celery_app = Celery("ocop", task_cls=FlaskTask)


def init_celery(app) -> Celery:
    """Configure :data:`celery_app` from the Flask app's settings and plugin hooks."""
    settings = app.config["OCOP"]
    _bound["app"] = app
    eager = not settings.broker_url
    celery_app.conf.update(
        broker_url=settings.broker_url or "memory://",
        # redis://: kombu's transport with one Redis client per channel (core.broker_redis); others as they are
        broker_transport=REDIS_TRANSPORT if (settings.broker_url or "").startswith("redis://") else None,
        result_backend=None,
        task_always_eager=eager,
        task_eager_propagates=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="Asia/Ho_Chi_Minh",
        enable_utc=True,
    )
    schedule = {
        "expire-certifications-daily": {
            "task": "ocop.certifications.expire",
            "schedule": crontab(hour=0, minute=15),
        },
        "refresh-statistics-daily": {  # the query planner's statistics (SQLite has none until ANALYZE)
            "task": "ocop.db.refresh_statistics",
            "schedule": crontab(hour=3, minute=30),
        },
        "notifications-requeue": {  # deliveries whose publish failed (broker down at commit)
            "task": "ocop.notifications.requeue",
            "schedule": crontab(minute="*"),
        },
    }
    for extra in app.extensions["ocop_plugins"].hook.register_tasks(celery=celery_app):
        if extra:
            schedule.update(extra)
    celery_app.conf.beat_schedule = schedule
    # Bind every task now, in one thread. Left lazy, the first use finalizes the app while another request
    # thread may evaluate a task proxy (``drain_outbox.apply``): Celery registers a task before binding it,
    # so that thread gets an unbound task whose ``request_stack`` is None ("'NoneType' object has no
    # attribute 'push'" in celery/app/trace.py) and the in-process task is lost.
    celery_app.finalize(auto=True)
    app.extensions["celery"] = celery_app
    return celery_app


@celery_app.task(name="ocop.db.refresh_statistics")
def refresh_statistics_task() -> None:
    """Daily: refresh the planner's statistics (:func:`core.db.refresh_statistics`)."""
    refresh_statistics()


def enqueue(task_name: str, *args, **kwargs):
    """Send the registered task ``task_name`` (run in-process when no broker is configured).

    Services enqueue tasks by name so that a domain's services never import
    its own task module (which imports them); the composition root imports
    every domain's ``tasks`` module, which registers the tasks.
    """
    # a plain repr for the worker's log (Celery's default ``saferepr`` cost ~15 % of the publish)
    return celery_app.tasks[task_name].apply_async(args, kwargs or None, retry=False, argsrepr=_repr(args),
                                                   kwargsrepr=_repr(kwargs))


def _repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 1024 else text[:1021] + "..."


# --- publishing ---------------------------------------------------------------------------------
_publisher = {"pid": None, "connection": None, "producer": None}
_publisher_lock = threading.Lock()


def drop_publisher() -> None:
    """Forget this process's broker connection (after a publish error; the next publish opens a new one)."""
    conn = _publisher["connection"]
    _publisher.update(pid=None, connection=None, producer=None)
    if conn is not None:
        try:
            conn.release()
        except Exception:  # pragma: no cover - a broken connection may fail to close
            pass


def _producer():
    """This process's producer: one broker connection per process, re-created after a fork or an error.

    Opening a connection (a new Redis client) per publish cost about a quarter of each publish's CPU on
    the order-placement path. The connection does not retry: with the broker down the request must not
    hang in kombu's reconnect loop (seconds) — callers keep what they publish safe in the database.
    """
    if _publisher["pid"] != os.getpid():
        _publisher.update(pid=None, connection=None, producer=None)  # inherited from the parent: never reuse
        connection = celery_app.connection_for_write(transport_options={"max_retries": 0})
        _publisher.update(pid=os.getpid(), connection=connection, producer=connection.Producer())
    return _publisher["producer"]


def publish(task, args=(), kwargs=None):
    """Send ``task`` to the broker through this process's kept producer, whose connection never retries (the
    search outbox's drain request: the row is safe in the database, the request must not wait on a broker
    that is down). Raises on a broker error (the connection is dropped first, so the next call reconnects).
    :func:`enqueue` uses Celery's own producer pool: a kept producer saved only ~0.04 ms per publish."""
    with _publisher_lock:
        try:
            return task.apply_async(args, kwargs or None, retry=False, producer=_producer())
        except Exception:
            drop_publisher()
            raise
