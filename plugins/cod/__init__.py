"""Built-in plugin: cash on delivery (COD) payment gateway."""
