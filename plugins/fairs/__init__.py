"""Fairs and event booths plugin: provincial OCOP fairs, exhibitions, OCOP weeks and supply–demand conferences.

Events with a checked lifecycle, booth maps (JSON and SVG), exhibitor applications, booth allocation
(manual, or proposed from priority rules kept as data) that never double-books, fee lines with the
subsidy, booth stock through the core ledger, booth sales as core counter-sale orders, settlement,
visitors, B2B deals, meeting slots and reports. See docs/fairs.md.
"""
