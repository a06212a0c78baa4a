"""WSGI entry point for gunicorn: ``gunicorn -w 4 'core.wsgi:app'``."""
from core.app import create_app

app = create_app()
