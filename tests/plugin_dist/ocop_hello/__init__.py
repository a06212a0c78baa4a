"""Tiny third-party plugin: one table, one route, a CLI command and hook receivers."""
