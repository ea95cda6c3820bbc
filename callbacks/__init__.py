"""Wiring only: one module per page, each with ``register(app, services)``."""
