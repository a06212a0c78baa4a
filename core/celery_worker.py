"""Celery entry point: ``celery -A core.celery_worker worker`` / ``beat`` (an app without the HTTP faces)."""
from core.app import create_worker_app

flask_app = create_worker_app()
celery = flask_app.extensions["celery"]
