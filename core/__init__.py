"""ocop-commerce core: catalogue, inventory, orders, payments, search, accounts and the plugin system."""


def create_app(*args, **kwargs):
    """Build the Flask app (see :func:`core.app.create_app`)."""
    from core.app import create_app as _create_app
    return _create_app(*args, **kwargs)
