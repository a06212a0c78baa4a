"""Built-in plugins, each registered through the ``ocop.plugins`` entry points like third-party ones."""
