"""Public storefront REST API under ``/storefront/v1``."""


def register(api) -> None:
    """Register the core storefront blueprints on the flask-smorest ``api``."""
    from storefront_api import catalogue
    api.register_blueprint(catalogue.blp)
