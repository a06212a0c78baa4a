"""Celery entry point: ``celery -A core.celery_worker worker`` / ``beat``."""
from core.app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
