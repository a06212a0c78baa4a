"""Sales points plugin: OCOP showcase and sales points (điểm giới thiệu và bán sản phẩm OCOP).

Registry of points, operator bindings, goods receipts, two-step transfers,
stock counts, counter sales (POS), consignment settlement and reports. It
uses only the core's hooks and services (``core.services.stock`` for every
stock movement); the core never imports it.
"""
