"""Prometheus metrics of the scorer, defined once at module level.

Under ``bentoml serve`` every worker writes to the multiprocess directory that BentoML sets in
``PROMETHEUS_MULTIPROC_DIR``, and ``/metrics`` aggregates them: counters and histograms sum
over workers, gauges use the multiprocess mode noted on each. No label ever carries a
transaction or customer id: labels are model versions, variants, outcomes, features, kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
    0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip
SCORE_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0)

PREDICTIONS = Counter(
    "fraud_predictions",
    "Scored transactions by serving model, variant and outcome "
    "(approve, block, explore = approved by exploration, error)",
    ["model_version", "variant", "outcome"],
)
LATENCY = Histogram(
    "fraud_prediction_latency_seconds",
    "In-process scoring time of one transaction (features, model, threshold, decision)",
    ["variant"],
    buckets=LATENCY_BUCKETS,
)
SCORE = Histogram("fraud_score", "Fraud probability served", ["variant"], buckets=SCORE_BUCKETS)
SHADOW_PREDICTIONS = Counter(
    "fraud_shadow_predictions", "Transactions scored by the shadow model", ["model_version"]
)
SHADOW_DISAGREEMENTS = Counter(
    "fraud_shadow_disagreements",
    "Shadow decisions that differ from the served model's (before exploration)",
    ["model_version"],
)
SHADOW_DROPPED = Counter(
    "fraud_shadow_dropped", "Transactions the shadow could not keep up with (not scored)"
)
LOG_DROPPED = Counter(
    "fraud_prediction_log_dropped",
    "Prediction-log rows lost (shadow rows on queue overflow, write-ahead lines torn by a crash)",
)
LOG_FULL_REFUSALS = Counter(
    "fraud_prediction_log_full_refusals",
    "Transactions refused with 503 because the prediction log was full (none decided or lost)",
)
LOG_QUARANTINED = Counter(
    "fraud_prediction_log_quarantined_rows",
    "Prediction-log rows the store refused as invalid, set aside in the quarantine folder",
    ["kind"],
)
LOG_RECOVERED = Counter(
    "fraud_prediction_log_recovered_rows",
    "Prediction-log rows recovered from the write-ahead files of dead worker processes",
)
LOG_DISK_ERRORS = Counter(
    "fraud_prediction_log_disk_errors",
    "Failed writes of the write-ahead file or the spool (local disk full or failing)",
)
LOG_SPOOLED = Gauge(
    "fraud_prediction_log_spooled_rows",
    "Prediction-log rows waiting on local disk for the database",
    multiprocess_mode="livemostrecent",
)
SHADOW_FAILED = Counter(
    "fraud_shadow_failed",
    "Transactions the shadow model failed to score (no shadow row for them)",
    ["model_version"],
)
FEEDBACK_FAILURES = Counter(
    "fraud_feedback_failures",
    "POST /feedback calls answered 503, nothing acknowledged (cause: unreachable, store_error,"
    " prediction_pending = labels for transactions still waiting in the spool)",
    ["cause"],
)
READ_FAILURES = Counter(
    "fraud_scorer_read_failures",
    "Failed polls of what the scorer follows (source: registry, policy, monitoring)",
    ["source"],
)
MODEL_LOAD_FAILURES = Counter(
    "fraud_model_load_failures", "Failed attempts to load a model version named by an alias"
)
REGISTRY_UP = Gauge(
    "fraud_registry_up",
    "1 when the last registry poll succeeded (minimum over workers)",
    multiprocess_mode="livemin",
)
CANARY_PERCENT = Gauge(
    "fraud_canary_traffic_percent",
    "Share of customers routed to the canary, as served",
    multiprocess_mode="livemostrecent",
)

OUTCOMES = ("approve", "block", "explore", "error")


def create_failure_series() -> None:
    """Every labelled failure counter at 0 for each of its labels, once per worker: an alert
    on `increase()` cannot see a failure that creates its series (the first sample is 1)."""
    for source in ("registry", "policy", "monitoring"):
        READ_FAILURES.labels(source)
    for cause in ("unreachable", "store_error", "prediction_pending"):
        FEEDBACK_FAILURES.labels(cause)
    for kind in ("prediction", "shadow"):
        LOG_QUARANTINED.labels(kind)


def create_model_series(slot: str, version: str) -> None:
    """The series that a model just loaded into `slot` (champion, canary, challenger) will count,
    at 0: Prometheus's first scrape then sees 0, so `increase()` counts the requests served
    before it (a series born at N hides those N)."""
    if slot == "challenger":
        for counter in (SHADOW_PREDICTIONS, SHADOW_DISAGREEMENTS, SHADOW_FAILED):
            counter.labels(version)
        return
    for outcome in OUTCOMES:
        PREDICTIONS.labels(version, slot, outcome)
    LATENCY.labels(slot)
    SCORE.labels(slot)


_MONITORING_MODE = {"multiprocess_mode": "livemostrecent"}
FPR = Gauge(
    "fraud_fpr", "Realized false-positive rate", ["model_version", "variant"], **_MONITORING_MODE
)
FPR_ESTIMATE = Gauge(
    "fraud_fpr_estimate",
    "Label-free false-positive rate estimate",
    ["model_version", "variant"],
    **_MONITORING_MODE,
)
DECLINE_RATE = Gauge(
    "fraud_decline_rate",
    "Share of transactions blocked",
    ["model_version", "variant"],
    **_MONITORING_MODE,
)
EXPECTED_COST = Gauge(
    "fraud_expected_cost_usd_per_1000_predictions",
    "Expected cost of errors in USD per 1,000 predictions (kind: false_block, missed_fraud)",
    ["model_version", "variant", "kind"],
    **_MONITORING_MODE,
)
FEATURE_DRIFT = Gauge(
    "fraud_feature_drift_score", "Drift score of one feature", ["feature"], **_MONITORING_MODE
)
MONITORING_UPDATED = Gauge(
    "fraud_monitoring_last_update_timestamp_seconds",
    "Unix time of the newest monitoring_metrics row exported",
    **_MONITORING_MODE,
)

_BY_MODEL = {"fpr": FPR, "fpr_estimate": FPR_ESTIMATE, "decline_rate": DECLINE_RATE}
_COST_KIND = {
    "expected_cost_false_block": "false_block",
    "expected_cost_missed_fraud": "missed_fraud",
}


def _field(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return None if value is None or value != value else value  # NaN (pandas null) -> None


def export_monitoring(rows: Iterable[Mapping[str, Any]]) -> int:
    """Set the monitoring gauges from `monitoring_metrics` rows (the store's
    `latest_metrics()` records); returns how many rows were exported.

    Per-model gauges take the rows without a segment (segment-level rows are for reports);
    drift rows need a `feature`. Other metric names are ignored.
    """
    used, newest = 0, None
    for row in rows:
        metric, value = _field(row, "metric"), _field(row, "value")
        if value is None:
            continue
        version = str(_field(row, "model_version") or "")
        variant = str(_field(row, "variant") or "champion")
        segment, feature = _field(row, "segment"), _field(row, "feature")
        if metric in _BY_MODEL and segment is None:
            _BY_MODEL[metric].labels(version, variant).set(value)
        elif metric in _COST_KIND and segment is None:
            EXPECTED_COST.labels(version, variant, _COST_KIND[metric]).set(value)
        elif metric == "feature_drift" and feature is not None:
            FEATURE_DRIFT.labels(str(feature)).set(value)
        else:
            continue
        used += 1
        stamp = _field(row, "computed_at")
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    if newest is not None:
        MONITORING_UPDATED.set(newest.timestamp())
    return used
