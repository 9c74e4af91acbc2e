"""What the platform did, as it happens: runs on the Dagster instance (job, status, trigger,
reason), drift verdicts of monitoring runs, and the audit log (gate, alias moves, stages,
rollbacks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg

from fraud_assets.provenance import REASON_TAG, latest_record, trigger_of
from fraud_assets.tables import plain_metadata

DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass
class Outcome:
    """The loop's milestones (None until seen), keyed by what a person checks."""

    drift: str | None = None
    retraining: str | None = None
    gate: str | None = None
    shadow: str | None = None
    stages: list[str] = field(default_factory=list)
    promoted: str | None = None
    rolled_back: str | None = None

    @property
    def finished(self) -> bool:
        return bool(self.promoted or self.rolled_back)


@dataclass
class Watch:
    """Polls `instance` and `store` for what happened after `since`; `say` prints a line."""

    instance: dg.DagsterInstance
    store: Any
    since: datetime
    say: Callable[[str], None]
    outcome: Outcome = field(default_factory=Outcome)
    _status: dict[str, dg.DagsterRunStatus] = field(default_factory=dict)
    _audit_ids: set[int] = field(default_factory=set)

    def poll(self) -> None:
        self._runs()
        self._audit()

    def _runs(self) -> None:
        runs = self.instance.get_runs(
            filters=dg.RunsFilter(created_after=self.since), limit=50, ascending=True
        )
        for run in runs:
            seen = self._status.get(run.run_id)
            if seen == run.status:
                continue
            self._status[run.run_id] = run.status
            if seen is None or run.status in DONE:
                self._report(run)

    def _report(self, run: dg.DagsterRun) -> None:
        status = run.status.value.lower()
        reason = run.tags.get(REASON_TAG, "")
        self.say(
            f"run {run.run_id[:8]} {run.job_name:<12} {status:<8} by {trigger_of(run.tags)}"
            + (f": {reason[:160]}" if reason and run.status not in DONE else "")
        )
        sensor = run.tags.get("dagster/sensor_name")
        if run.job_name == "retraining" and sensor and self.outcome.retraining is None:
            self.outcome.retraining = f"{trigger_of(run.tags)}: {reason}"
        if run.job_name == "monitoring" and run.status == dg.DagsterRunStatus.SUCCESS:
            self._drift(run.run_id)

    def _drift(self, run_id: str) -> None:
        record = latest_record(self.instance, "drift_report")
        if record is None or record.run_id != run_id:
            return
        meta = plain_metadata(record.asset_materialization.metadata)
        flagged = "DRIFT" if meta.get("drift_detected") else "no drift"
        self.say(f"  drift_report: {flagged}: {str(meta.get('reason'))[:200]}")
        if meta.get("drift_detected") and self.outcome.drift is None:
            self.outcome.drift = str(meta.get("reason"))

    def _audit(self) -> None:
        entries = [
            e
            for e in reversed(self.store.audit_entries(limit=50))
            if e["id"] not in self._audit_ids and _aware(e["at"]) >= self.since
        ]
        for entry in entries:
            self._audit_ids.add(entry["id"])
            action, reason = entry["action"], (entry["reason"] or "")
            self.say(f"  audit: {action} {entry['subject']} ({entry['actor']}): {reason[:200]}")
            self._milestone(entry)

    def _milestone(self, entry: dict[str, Any]) -> None:
        action, text = entry["action"], f"{entry['subject']}: {entry['reason']}"
        moves = (entry.get("details") or {}).get("moves", [])
        if action.startswith("validation_gate."):
            self.outcome.gate = f"{action.split('.')[1]} {text}"
        elif action == "alias.set" and any(m["alias"] == "challenger" for m in moves):
            self.outcome.shadow = f"started {text}"
        elif action.startswith("shadow_evaluation."):
            self.outcome.shadow = f"{action.split('.')[1]} {text}"
        elif action == "release.stage":
            self.outcome.stages.append(text)
        elif action == "promote":
            self.outcome.promoted = text
        elif action in ("release.rollback", "rollback"):
            self.outcome.rolled_back = text


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
