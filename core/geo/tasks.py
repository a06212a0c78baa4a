"""The geo domain has no Celery tasks (yet); its work runs inside requests and commands."""
