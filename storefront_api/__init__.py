"""Public storefront REST API under ``/storefront/v1``."""


def register(api) -> None:
    """Register the core storefront blueprints on the flask-smorest ``api``."""
    from storefront_api import catalogue
    api.register_blueprint(catalogue.blp)
    from storefront_api import search
    api.register_blueprint(search.blp)
    from storefront_api import geo, registrations
    api.register_blueprint(geo.blp)
    api.register_blueprint(registrations.blp)
    from storefront_api import checkout
    api.register_blueprint(checkout.blp)
