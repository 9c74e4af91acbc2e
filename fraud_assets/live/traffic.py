"""Drifted payments for the running scorer, and the outcomes support and the card networks
would report: a dispute for every legitimate customer blocked, a chargeback for every fraud
approved. Outcomes are reported at once (the accelerated part of the demo)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from fraud_core.commands.demo import DemoTally, post_disputes, transaction_body
from fraud_core.schema import MAX_BATCH


def outcome_label(transaction_id: str, fraud: bool) -> dict[str, Any]:
    """What comes back for a decided payment: the truth, as a dispute or a chargeback."""
    return {
        "transaction_id": transaction_id,
        "label": "fraud" if fraud else "legit",
        "source": "chargeback" if fraud else "dispute",
        "reported_at": datetime.now(UTC).isoformat(),
        "note": "demo: reported at an accelerated pace",
    }


@dataclass
class Player:
    """Plays `rows` (simulated drifted payments, `truth` beside them) in order, stamped now
    or, with `simulated_time`, at their own event times (`transaction_body`)."""

    client: httpx.Client
    rows: list[dict[str, Any]]
    truth: Any
    api_key: str
    run: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    tally: DemoTally = field(default_factory=DemoTally)
    played: int = 0
    pending_labels: list[dict[str, Any]] = field(default_factory=list)
    simulated_time: bool = False

    @property
    def labels_posted(self) -> int:
        return self.tally.disputes_posted

    def play(self, n: int, batch: int = 500) -> int:
        """Score the next `n` payments in batches; returns how many were scored."""
        scored = 0
        while scored < n and self.played < len(self.rows):
            size = min(batch, n - scored, len(self.rows) - self.played, MAX_BATCH)
            scored += self._batch(size)
        return scored

    def _batch(self, size: int) -> int:
        start = self.played
        self.played += size
        bodies = [
            transaction_body(self.rows[i], f"loop-{self.run}-{i}", self.simulated_time)
            for i in range(start, start + size)
        ]
        began = time.perf_counter()
        response = self.client.post("/score_batch", json={"transactions": bodies})
        if response.status_code != 200:
            self.tally.errors[f"score_batch {response.status_code}"] += size
            return 0
        per_row = (time.perf_counter() - began) * 1000 / size
        for offset, decided in enumerate(response.json()):
            fraud = bool(self.truth[start + offset])
            self.tally.record(decided, fraud, per_row)
            if (decided["decision"] == "block") != fraud:  # a mistake gets reported
                self.pending_labels.append(outcome_label(bodies[offset]["transaction_id"], fraud))
        return size

    def report_outcomes(self) -> int:
        """POST /feedback for every outcome not yet reported; returns how many were sent."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        labels, self.pending_labels = self.pending_labels, []
        for start in range(0, len(labels), MAX_BATCH):
            post_disputes(self.client, labels[start : start + MAX_BATCH], headers, self.tally)
        return len(labels)
