"""Hash chain of the audit log: each entry's `chain_hash` covers its content and the previous
entry's hash, so editing, deleting or inserting an entry breaks every link after it.

The hash is over a canonical text that survives both backends' round trips (JSONB rewrites
numbers: `1e16` comes back as `10000000000000000`), so numbers are hashed by their decimal value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fraud_core.store.models import to_utc

GENESIS = "0" * 64  # the "previous hash" of the first entry
HASHED = ("at", "actor", "action", "subject", "reason", "details")


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return f"n:{Decimal(repr(value)).normalize()}"
    return f"s:{value}"


def entry_hash(previous: str, entry: Mapping[str, Any]) -> str:
    """The chain hash of `entry` (its HASHED fields) following an entry hashed `previous`."""
    content = {name: entry[name] for name in HASHED}
    content["at"] = to_utc(content["at"]).isoformat(timespec="microseconds")
    # Through JSON first, as the database stores it (tuples become lists, keys strings).
    text = json.dumps(_canonical(json.loads(json.dumps(content))), sort_keys=True)
    return hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """What verification found: entries checked, the last good hash, the first broken entry."""

    checked: int
    head: str
    broken_id: int | None = None
    broken_entry: Mapping[str, Any] | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify(entries: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk `entries` in id order; stop at the first whose stored hash is not the recomputed one."""
    previous, checked = GENESIS, 0
    for entry in entries:
        if entry["chain_hash"] != entry_hash(previous, entry):
            return ChainReport(checked, previous, entry["id"], dict(entry))
        previous, checked = entry["chain_hash"], checked + 1
    return ChainReport(checked, previous)
