"""Cleaning steps: validated, previewable, applied as a new version of ``data``, undoable."""

from __future__ import annotations

from dashboard.cleaning._apply import (
    OPERATIONS,
    apply_steps,
    apply_to_store,
    preview,
    undo,
    validate_steps,
)

__all__ = [
    "OPERATIONS",
    "apply_steps",
    "apply_to_store",
    "preview",
    "undo",
    "validate_steps",
]
