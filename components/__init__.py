"""Layout only: one module per page, ids in `components.ids`."""
