"""certification domain."""
