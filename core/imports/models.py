"""The imports domain has no tables of its own: it writes producers, products and certifications through their services."""
