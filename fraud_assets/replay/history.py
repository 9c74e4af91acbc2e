"""What the platform did during a replay, read back from the Dagster instance and the audit
log: the timeline, the first alarm, each release's path and each promotion's before/after."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from fraud_assets.replay.daemon import SIMULATED_NOW_TAG
from fraud_assets.replay.world import ReplayWorld
from fraud_assets.tables import plain_metadata
from fraud_core.fpr_lines import FPR_WARNING

AFTER_PROMOTION_DAYS = 30

AUDIT_KINDS = {
    "validation_gate.passed": "gate passed",
    "validation_gate.failed": "gate refused",
    "shadow_evaluation.passed": "shadow passed",
    "shadow_evaluation.failed": "shadow refused",
    "release.stage": "canary stage",
    "release.rollback": "rollback",
    "promote": "promotion",
    "policy.update": "threshold policy",
}


def _materializations(instance: dg.DagsterInstance, asset: str) -> list[tuple[datetime, dict]]:
    """(simulated time, plain metadata) of every materialization of `asset`, oldest first."""
    records, cursor = [], None
    while True:  # the instance serves at most 10,000 records a call
        page = instance.fetch_materializations(dg.AssetKey(asset), limit=10_000, cursor=cursor)
        records += page.records
        if not page.has_more:
            break
        cursor = page.cursor
    out = []
    for record in records:
        meta = plain_metadata(record.asset_materialization.metadata)
        run = instance.get_run_by_id(record.run_id)
        when = (run.tags.get(SIMULATED_NOW_TAG) if run else None) or meta.get("as_of")
        if when:
            out.append((datetime.fromisoformat(str(when)), meta))
    return sorted(out, key=lambda item: item[0])


def alarms(instance: dg.DagsterInstance) -> list[dict[str, Any]]:
    """Drift flagged by `drift_report`, and FPR estimates at or over 12%."""
    found = [
        {"at": at, "kind": "drift alarm", "detail": str(meta.get("reason", ""))}
        for at, meta in _materializations(instance, "drift_report")
        if meta.get("drift_detected")
    ]
    for at, meta in _materializations(instance, "performance_estimate"):
        estimate = meta.get("champion_fpr_estimate")
        if estimate is not None and float(estimate) >= FPR_WARNING:
            found.append(
                {
                    "at": at,
                    "kind": "FPR estimate alarm",
                    "detail": f"champion FPR estimate {float(estimate):.1%}",
                }
            )
    return found


def first_alarm_days(found: list[dict[str, Any]], onset: datetime) -> float | None:
    """Days from drift onset to the first alarm (None: never)."""
    times = [a["at"] for a in found if a["at"] >= onset]
    return (min(times) - onset) / timedelta(days=1) if times else None


def retrainings(instance: dg.DagsterInstance) -> list[dict[str, Any]]:
    """Every retraining run: simulated time, trigger, reason, outcome."""
    from fraud_assets.provenance import REASON_TAG, trigger_of

    out = []
    for run in instance.get_runs(dg.RunsFilter(job_name="retraining")):
        when = run.tags.get(SIMULATED_NOW_TAG)
        if when:
            out.append(
                {
                    "at": datetime.fromisoformat(when),
                    "kind": "retraining",
                    "detail": f"{trigger_of(run.tags)}: {run.tags.get(REASON_TAG, '')} "
                    f"({run.status.value.lower()})",
                }
            )
    return out


def timeline(instance: dg.DagsterInstance, audit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everything the platform did and why, oldest first."""
    events = alarms(instance) + retrainings(instance)
    for entry in audit:
        kind = AUDIT_KINDS.get(entry["action"])
        if kind is None:
            continue
        detail = f"{entry['subject']}: {entry['reason']}"
        if entry["action"] == "release.stage":  # a share, or "champion" (`promoted_model`)
            share = entry["details"].get("percent")
            stage = f"{share}%" if isinstance(share, int) else share
            detail = f"{entry['subject']} to {stage}: {entry['reason']}"
        events.append({"at": entry["at"], "kind": kind, "detail": detail})
    return sorted(events, key=lambda e: e["at"])


def release_paths(audit: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per model version, the release actions it went through, oldest first."""
    paths: dict[str, list[str]] = {}
    for entry in sorted(audit, key=lambda e: (e["at"], e["id"])):
        kind = AUDIT_KINDS.get(entry["action"])
        if kind and entry["subject"].count("/") == 1 and kind != "threshold policy":
            paths.setdefault(entry["subject"].split("/")[1], []).append(kind)
    return paths


def release_problems(paths: dict[str, list[str]], first: str) -> list[str]:
    """Releases that skipped a step (gate -> shadow -> canary -> promotion) or were promoted
    twice; `first` is the bootstrap champion (no champion to compare against)."""
    problems = []
    for version, path in paths.items():
        promotions = path.count("promotion")
        if promotions > 1:
            problems.append(f"version {version} promoted {promotions} times")
        if promotions and version != first:
            needed = ["gate passed", "shadow passed", "canary stage"]
            if any(step not in path[: path.index("promotion")] for step in needed):
                problems.append(f"version {version} promoted without {needed}: {path}")
    return problems


def promotions(
    audit: list[dict[str, Any]], world: ReplayWorld, decisions: pd.DataFrame, load: Any
) -> list[dict[str, Any]]:
    """Each promotion: the new champion against the one it replaced on the true outcomes of
    the next 30 days, both at the thresholds the platform served on those payments."""
    from fraud_assets.replay.figures import rates
    from fraud_core.features import featurize_frame

    served = decisions.set_index("transaction_id")["threshold"]
    out = []
    for entry in sorted(audit, key=lambda e: (e["at"], e["id"])):
        if entry["action"] != "promote":
            continue
        moves = entry["details"].get("moves", [])
        old = next((m["from"] for m in moves if m["alias"] == "champion"), None)
        new = entry["subject"].split("/")[1]
        if old is None:
            continue
        start = entry["at"]
        rows = world.rows_between(start, start + timedelta(days=AFTER_PROMOTION_DAYS))
        if rows.stop <= rows.start:
            continue
        tx = world.transactions.iloc[rows]
        X = featurize_frame(tx)
        thresholds = served.reindex(tx["transaction_id"].astype(str)).fillna(0.5).to_numpy()
        fraud, usd = world.is_fraud[rows], world.amount_usd[rows]
        before = rates(load(old).predict(X) >= thresholds, fraud, usd)
        after = rates(load(new).predict(X) >= thresholds, fraud, usd)
        out.append(
            {
                "at": start,
                "from": old,
                "to": new,
                "days": AFTER_PROMOTION_DAYS,
                "before": before,
                "after": after,
                "worse": bool(after["cost_usd"] > before["cost_usd"]),
            }
        )
    return out


def policy_contribution(decisions: pd.DataFrame, world: ReplayWorld) -> dict[str, Any]:
    """The platform's served models with the learned thresholds (as served) against the same
    models at a static 0.5: what the threshold policy added, over all six months."""
    from fraud_assets.replay.figures import rates

    ids = world.transactions["transaction_id"].iloc[world.drift].astype(str)
    frame = decisions.set_index("transaction_id").reindex(ids)
    fraud, usd = world.is_fraud[world.drift], world.amount_usd[world.drift]
    score = frame["score"].to_numpy(dtype=float)
    with_policy = (frame["decision"] == "block").to_numpy()
    at_half = (score >= 0.5) & ~frame["explored"].fillna(False).to_numpy(dtype=bool)
    versions = sorted(set(frame["policy_version"].dropna().astype(str)))
    return {
        "policy_versions_served": len(versions),
        "learned_policy_share": float(
            (~frame["policy_version"].astype(str).str.startswith("static")).mean()
        ),
        "with_policy": rates(with_policy, fraud, usd),
        "same_models_at_0.5": rates(at_half, fraud, usd),
        "mean_served_threshold": float(np.nanmean(frame["threshold"].to_numpy(dtype=float))),
    }
