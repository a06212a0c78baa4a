"""Livestream plugin: selling in live sessions on Facebook, TikTok, YouTube, Zalo and Shopee.

Sessions (each a core sales channel), showcases with short codes, comments read by the "chốt đơn"
parser (``parser``), per-viewer draft orders (``drafts``, persisted by ``draft_orders``) confirmed
into core orders, attribution, metrics, the live screen's event stream. See docs/livestream.md.
"""
