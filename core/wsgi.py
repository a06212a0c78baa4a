"""WSGI entry point for gunicorn: ``gunicorn -w 4 'core.wsgi:app'``."""
import gc

from core.app import create_app

app = create_app()
# The app's modules, schemas and mappers live as long as the process: move them out of the collector's
# generations so its passes scan only what requests allocate (and forked workers share those pages).
gc.freeze()
