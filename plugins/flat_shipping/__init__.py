"""Built-in plugin: flat weight-and-zone home-delivery rates (``shipping_methods`` hook)."""
