"""Livestream plugin: orders placed in livestream comments ("chốt đơn").

For now only the comment parser (``parser``), the per-viewer draft orders
(``drafts``) and the ``ocop livestream parse-comments`` command; both are pure
and touch no database. Sessions, showcases and orders come later.
"""
