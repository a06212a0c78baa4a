"""Marketplace feeds plugin: product feeds for Google Merchant, Meta, TikTok Shop, Shopee, Lazada, Postmart, Voso.

A registry of marketplaces (each a core sales channel ``marketplace:<code>``) with producer opt-in,
category mapping and product links; streamed feeds (Google RSS/TSV, local inventory, Meta CSV, JSON)
priced by the core resolver and served at a secret, revocable URL; marketplace orders imported
into core orders. See docs/marketplace-feeds.md.
"""
