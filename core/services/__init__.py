"""Business rules. Routes parse input, call a service, serialise the result."""
