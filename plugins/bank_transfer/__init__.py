"""Built-in plugin: bank transfer with an order-specific reference, confirmed by an admin or a bank statement."""
