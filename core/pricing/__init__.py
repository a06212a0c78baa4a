"""Prices and promotions: campaigns, channel prices, vouchers and the one price resolver (``resolver.price_for``)."""
