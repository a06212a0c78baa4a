"""ocop-commerce core: the kernel (config, db, errors, api, plugin manager…) and one package per domain.

The app factory is :func:`core.app.create_app`.
"""
