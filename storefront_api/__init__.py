"""Public storefront REST API under ``/storefront/v1``."""
from storefront_api import catalogue
from storefront_api import checkout
from storefront_api import geo, registrations
from storefront_api import search


def register(api) -> None:
    """Register the core storefront blueprints on the flask-smorest ``api``."""
    api.register_blueprint(catalogue.blp)
    api.register_blueprint(search.blp)
    api.register_blueprint(geo.blp)
    api.register_blueprint(registrations.blp)
    api.register_blueprint(checkout.blp)
