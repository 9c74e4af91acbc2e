"""The feedback store, opened on first use and retried until it opens.

`FeedbackStore(url)` connects (it brings the schema to head). Opening it lazily lets a scorer
start, and score with its prediction log spooling to disk, while the database is down; the
next call after the database returns opens it. The import is deferred too, so loading the
service module (BentoML's arbiter does it before starting workers) stays fast.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraud_core.store import FeedbackStore


class LazyStore:
    """Proxy to a FeedbackStore: attribute access opens it (raising while it cannot)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: FeedbackStore | None = None
        self._lock = threading.Lock()

    def get(self) -> FeedbackStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from fraud_core.store import FeedbackStore  # pandas, SQLAlchemy: ~4 s

                    self._store = FeedbackStore(self.url)
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)
