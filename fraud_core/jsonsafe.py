"""JSON that every database accepts: NaN and infinities become None (PostgreSQL's JSONB
refuses them with "Out of range float values"; SQLite would store invalid JSON)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (also numpy's) replaced by None, recursively."""
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        try:
            return None if not math.isfinite(float(value)) else value
        except (TypeError, ValueError):
            return value
    return value
