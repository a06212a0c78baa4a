"""sales domain."""
