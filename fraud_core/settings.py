"""Configuration: the one place the environment is read.

`Settings` declares every variable the platform reads, each a field whose alias is the variable,
with a type, bounds, a default and a one-line doc (`description`). `get_settings()` reads them
all from the environment (a blank value is unset) and names the variable in any error. The
README's configuration table is generated from this model (`python -m fraud_core.settings`),
and `tests/unit/test_settings.py` fails when they disagree. Callers read settings when they need
them (a run, a request loop, a command), never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fraud_core.maturity import TRAINING_MATURITY_DAYS

if TYPE_CHECKING:
    from fraud_core.release import ReleasePlan

MODEL_NAME = "fraud-detector"
DEV_HASH_KEY = "fraud-mlops-dev-hash-key"
MONITORING_CRON = "0 */6 * * *"

_RELEASE_FIELDS = {
    "release_stages": "stages",
    "shadow_min_rows": "shadow_min_rows",
    "shadow_min_seconds": "shadow_min_seconds",
    "shadow_fpr_margin": "shadow_fpr_margin",
    "stage_min_seconds": "stage_min_seconds",
    "stage_min_samples": "stage_min_samples",
    "release_decline_increase": "decline_increase",
    "release_decline_floor": "decline_floor",
    "release_base_rate": "base_decline_rate",
    "release_discordance": "shadow_discordance",
    "release_alpha": "alpha",
    "release_power": "power",
    "canary_p99_slo_seconds": "p99_latency_slo_seconds",
}
"""Settings field -> `ReleasePlan` field (the plan's own defaults when unset)."""


def _var(alias: str, default: Any, doc: str, **bounds: Any) -> Any:
    return Field(default, alias=alias, description=doc, **bounds)


class Settings(BaseModel):
    """Everything the platform reads from its environment (aliases are the variables)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    # where state lives
    var_dir: Path = _var("FRAUD_VAR_DIR", Path("var"), "local state folder")
    db_url: str = _var(
        "FRAUD_DB_URL",
        "",
        "feedback store (predictions, labels, audit log, metrics); default "
        "`sqlite:///$FRAUD_VAR_DIR/fraud.db`",
    )
    mlflow_tracking_uri: str = _var(
        "MLFLOW_TRACKING_URI",
        "",
        "MLflow tracking and registry; default `sqlite:///$FRAUD_VAR_DIR/mlflow.db`",
    )
    mlflow_artifact_root: str = _var(
        "FRAUD_MLFLOW_ARTIFACTS", "", "MLflow artifact root; default `$FRAUD_VAR_DIR/mlartifacts`"
    )
    mlflow_ui_url: str = _var(
        "FRAUD_MLFLOW_UI_URL", "http://127.0.0.1:5000", "MLflow UI linked from materializations"
    )
    model_name: str = _var("FRAUD_MODEL_NAME", MODEL_NAME, "registered model name")
    lake_url: str = _var(
        "FRAUD_LAKE_URL",
        "",
        "columnar history: per-day Parquet partitions (a folder, or a URL pyarrow's filesystems "
        "open, e.g. `s3://bucket/lake`); default `$FRAUD_VAR_DIR/lake`",
    )
    reports_dir: Path | None = _var(
        "FRAUD_REPORTS_DIR", None, "HTML/PNG reports; default `$FRAUD_VAR_DIR/reports`"
    )
    datasets_dir: Path | None = _var(
        "FRAUD_DATASETS_DIR",
        None,
        "training snapshots (Parquet); default `$FRAUD_VAR_DIR/datasets`",
    )
    landing_dir: Path | None = _var(
        "FRAUD_LANDING_DIR",
        None,
        "ticket exports and chargeback files to ingest; default `$FRAUD_VAR_DIR/landing/labels`",
    )
    dask_address: str = _var(
        "FRAUD_DASK_ADDRESS",
        "",
        "Dask scheduler (`tcp://host:8786`): retraining's fit and `reference_profile`'s sample "
        "run there (unset: in the run's process)",
    )
    # secrets and identity
    api_key: str | None = _var(
        "FRAUD_API_KEY", None, "bearer key of `POST /feedback` (unset: feedback is refused)"
    )
    hash_key: str = _var(
        "FRAUD_HASH_KEY",
        DEV_HASH_KEY,
        "key of the HMAC that hashes customer/card/device ids before storage (set in production)",
    )
    # time and cadence
    now: datetime | None = _var(
        "FRAUD_NOW", None, "a fixed ISO instant for the platform's clock (replays, tests)"
    )
    history_start: date = _var(
        "FRAUD_HISTORY_START", date(2025, 1, 1), "first day of the daily partitions"
    )
    sensor_interval_seconds: int | None = _var(
        "FRAUD_SENSOR_INTERVAL_SECONDS",
        None,
        "one minimum interval for every sensor (unset: 300 s retraining, 60 s release)",
        ge=1,
    )
    monitoring_cron: str = _var("FRAUD_MONITORING_CRON", MONITORING_CRON, "monitoring schedule")
    # training and the online log
    training_days: int = _var("FRAUD_TRAINING_DAYS", 90, "training window in days", ge=1)
    legit_keep_fraction: float = _var(
        "FRAUD_LEGIT_KEEP_FRACTION",
        1.0,
        "negative downsampling: the share of legitimate training rows kept, each weighted "
        "1/fraction (the holdout is never sampled)",
        ge=0.001,
        le=1.0,
    )
    label_maturity_days: float = _var(
        "FRAUD_LABEL_MATURITY_DAYS",
        TRAINING_MATURITY_DAYS,
        "after this long an unreported approval counts as legit (training, threshold policy)",
        ge=0,
    )
    retrain_min_labels: int = _var(
        "FRAUD_RETRAIN_MIN_LABELS",
        1000,
        "newly matured labels that make `label_volume_sensor` retrain",
        ge=1,
    )
    online_retention_days: int = _var(
        "FRAUD_ONLINE_RETENTION_DAYS",
        0,
        "days the online log keeps once the lake holds them (0: off; else at least 7)",
        ge=0,
    )
    key_retention_days: int = _var(
        "FRAUD_KEY_RETENTION_DAYS",
        180,
        "with online retention on: days a retired prediction's key stays so late labels "
        "(chargebacks: up to 120 days) find it; then keys no label names are dropped",
        ge=7,
    )
    # releases (`fraud_core.release.ReleasePlan`)
    release_stages: str | None = _var(
        "FRAUD_RELEASE_STAGES", None, "canary stages in percent (default `10,25,50,100`)"
    )
    release_decline_increase: float | None = _var(
        "FRAUD_RELEASE_DECLINE_INCREASE",
        None,
        "relative rise in declines a release must catch (default 0.20)",
        ge=0,
    )
    release_decline_floor: float | None = _var(
        "FRAUD_RELEASE_DECLINE_FLOOR",
        None,
        "absolute rise under which nothing stops a release (default 0.001)",
        ge=0,
    )
    release_base_rate: float | None = _var(
        "FRAUD_RELEASE_BASE_RATE",
        None,
        "champion's expected decline rate the stages are sized for (default 0.02)",
        ge=0,
    )
    release_discordance: float | None = _var(
        "FRAUD_RELEASE_DISCORDANCE",
        None,
        "expected share the shadow decides differently (default 0.02)",
        ge=0,
    )
    release_alpha: float | None = _var(
        "FRAUD_RELEASE_ALPHA", None, "false-stop rate of an identical model (default 0.005)", ge=0
    )
    release_power: float | None = _var(
        "FRAUD_RELEASE_POWER", None, "chance of catching the rise by a stage's end (default 0.95)"
    )
    shadow_min_rows: int | None = _var(
        "FRAUD_SHADOW_MIN_ROWS", None, "shadowed rows before the verdict (0: computed)", ge=0
    )
    shadow_min_seconds: float | None = _var(
        "FRAUD_SHADOW_MIN_SECONDS", None, "shortest shadow (default 72 h)", ge=0
    )
    shadow_fpr_margin: float | None = _var(
        "FRAUD_SHADOW_FPR_MARGIN",
        None,
        "FPR points a shadowed challenger may add to the champion's (default 0.005)",
        ge=0,
    )
    stage_min_samples: int | None = _var(
        "FRAUD_STAGE_MIN_SAMPLES", None, "canary predictions per stage (0: computed)", ge=0
    )
    stage_min_seconds: float | None = _var(
        "FRAUD_STAGE_MIN_SECONDS", None, "shortest canary stage (default 3600 s)", ge=0
    )
    canary_p99_slo_seconds: float | None = _var(
        "FRAUD_CANARY_P99_SLO_SECONDS",
        None,
        "canary scoring p99 that rolls a release back (default 0.05)",
        ge=0.001,
    )
    scorer_url: str = _var(
        "FRAUD_SCORER_URL", "", "a single scorer whose `/metrics` judge the canary's errors"
    )
    prometheus_url: str = _var(
        "FRAUD_PROMETHEUS_URL",
        "",
        "Prometheus scraping every scorer replica: canary health summed over replicas",
    )
    # the scorer (read once per process by `fraud_serving.service`).
    # Exploration lets some fraud through: a business decision, off by default; explored rows
    # carry their propensity so FPR and recall stay estimable without bias. The write-ahead file
    # holds every row before its response: a killed worker loses nothing, power loss at most the
    # last fsync interval (0 syncs each row, about 1.3 ms a request here; on SQLite power loss
    # can also undo the last commits, PostgreSQL's are durable). Keep it on local disk. The
    # access log cost a fifth of the server's CPU per request and every scored payment is a row
    # of the prediction log anyway; BentoML's middleware built an unsampled span per request
    # (a quarter of the CPU): both off unless asked for (`benchmarks/serving.py`).
    registry_poll_seconds: float = _var(
        "FRAUD_REGISTRY_POLL_SECONDS", 10.0, "how often the scorer reads the aliases", ge=0.05
    )
    exploration_rate: float = _var(
        "FRAUD_EXPLORATION_RATE",
        0.0,
        "share of would-be blocks approved and logged, to learn blocked traffic's outcomes",
        ge=0.0,
        le=1.0,
    )
    exploration_max_amount_usd: float = _var(
        "FRAUD_EXPLORATION_MAX_AMOUNT_USD", 100.0, "largest payment explored", ge=0.0
    )
    canary_salt: str = _var("FRAUD_CANARY_SALT", "fraud-canary", "salt of the sticky canary hash")
    log_batch_size: int = _var("FRAUD_LOG_BATCH_SIZE", 500, "prediction rows per store write", ge=1)
    log_flush_seconds: float = _var(
        "FRAUD_LOG_FLUSH_SECONDS", 0.5, "longest wait before a partial batch is written", ge=0.01
    )
    log_retry_seconds: float = _var(
        "FRAUD_LOG_RETRY_SECONDS", 2.0, "pause between store retries", ge=0.05
    )
    spool_dir: Path | None = _var(
        "FRAUD_SPOOL_DIR", None, "spool while the store is down; default `$FRAUD_VAR_DIR/spool`"
    )
    wal_dir: Path | None = _var(
        "FRAUD_WAL_DIR", None, "prediction write-ahead files; default `$FRAUD_VAR_DIR/wal`"
    )
    wal_fsync_seconds: float = _var(
        "FRAUD_WAL_FSYNC_SECONDS", 1.0, "fsync interval of the write-ahead file (0: each row)", ge=0
    )
    scorer_workers: int = _var("FRAUD_SCORER_WORKERS", 2, "scorer processes", ge=1, le=64)
    max_body_bytes: int = _var(
        "FRAUD_MAX_BODY_BYTES", 4 * 1024 * 1024, "largest request body", ge=1024
    )
    access_log: bool = _var("FRAUD_ACCESS_LOG", False, "BentoML access log")
    trace_scoring: bool = _var("FRAUD_TRACE_SCORING", False, "OpenTelemetry spans per request")
    # `make run`
    dagster_home: Path = _var(
        "DAGSTER_HOME", Path("dagster_home"), "Dagster instance (`dagster.yaml`: SQLite)"
    )
    dagster_port: int = _var("FRAUD_DAGSTER_PORT", 3000, "Dagster UI port", ge=1, le=65535)
    scorer_port: int = _var("FRAUD_SCORER_PORT", 3001, "scorer port", ge=1, le=65535)
    profile_file: Path | None = _var(
        "FRAUD_PROFILE_FILE",
        None,
        "settings profile applied when the definitions load; default `$FRAUD_VAR_DIR/profile.env`",
    )

    @field_validator("online_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if 0 < days < 7:
            raise ValueError("must be 0 (off) or at least 7: canary stages read the log")
        return days

    @field_validator("now")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        from datetime import UTC

        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def model_post_init(self, _context: Any) -> None:
        var = self.var_dir
        derived = {
            "db_url": normalize_db_url(self.db_url or f"sqlite:///{var / 'fraud.db'}"),
            "mlflow_tracking_uri": self.mlflow_tracking_uri or f"sqlite:///{var / 'mlflow.db'}",
            "mlflow_artifact_root": self.mlflow_artifact_root
            or str((var / "mlartifacts").resolve()),
            "lake_url": self.lake_url or str(var / "lake"),
            "reports_dir": self.reports_dir or var / "reports",
            "datasets_dir": self.datasets_dir or var / "datasets",
            "landing_dir": self.landing_dir or var / "landing" / "labels",
            "spool_dir": self.spool_dir or var / "spool",
            "wal_dir": self.wal_dir or var / "wal",
            "profile_file": self.profile_file or var / "profile.env",
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @classmethod
    def variables_set(cls, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Every variable of these settings set (not blank) in `environ` (default: the
        process's environment), stripped."""
        environ = os.environ if environ is None else environ
        return {
            field.alias: environ[field.alias].strip()
            for field in cls.model_fields.values()
            if field.alias and environ.get(field.alias, "").strip()
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Every variable set (not blank) in `environ` (default: the process's environment);
        ValueError names each bad variable and its value."""
        raw = cls.variables_set(environ)
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            raise ValueError(_explain(error, raw)) from None

    @property
    def handoffs_dir(self) -> Path:
        """Where assets hand each other typed values (`fraud_assets/handoffs.py`)."""
        return self.var_dir / "handoffs"

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of field `name`."""
        return cls.model_fields[name].alias

    def release_plan(self) -> ReleasePlan:
        """The release plan with every release variable that is set (a size of 0: computed);
        ValueError names the variables of a plan that does not hold together."""
        from fraud_core.release import ReleasePlan, parse_stages

        values: dict[str, Any] = {}
        try:
            for name, plan_field in _RELEASE_FIELDS.items():
                value = getattr(self, name)
                if value is None or (plan_field.endswith(("_rows", "_samples")) and value == 0):
                    continue
                values[plan_field] = parse_stages(value) if plan_field == "stages" else value
            return ReleasePlan(**values)
        except ValueError as error:
            named = [
                self.variable(name)
                for name, plan_field in _RELEASE_FIELDS.items()
                if plan_field in str(error) and getattr(self, name) is not None
            ]
            raise ValueError(
                f"release settings {', '.join(named) or 'from the environment'}: {error}"
            ) from None

    def ensure_dirs(self) -> None:
        """Create the local state folders."""
        for path in (self.var_dir, self.reports_dir, self.landing_dir):
            path.mkdir(parents=True, exist_ok=True)


_MESSAGES = {
    "float_parsing": "is not a number",
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "bool_parsing": "must be 1 or 0 (true/false)",
    "datetime_from_date_parsing": "is not an ISO instant",
    "datetime_parsing": "is not an ISO instant",
    "date_from_datetime_parsing": "is not an ISO date",
    "date_parsing": "is not an ISO date",
}


def _explain(error: ValidationError, raw: Mapping[str, str]) -> str:
    """One line per bad variable: `NAME='value': what is wrong`."""
    lines = []
    for problem in error.errors():
        alias = str(problem["loc"][0]) if problem["loc"] else "settings"
        context = problem.get("ctx") or {}
        if "ge" in context:
            why = f"must be at least {context['ge']}"
        elif "le" in context:
            why = f"must be at most {context['le']}"
        else:
            why = _MESSAGES.get(problem["type"], problem["msg"].removeprefix("Value error, "))
        lines.append(f"{alias}={raw.get(alias)!r}: {why}")
    return "; ".join(lines)


def get_settings() -> Settings:
    """Settings read from the current environment."""
    return Settings.from_env()


def normalize_db_url(url: str) -> str:
    """Map bare PostgreSQL URLs to the psycopg 3 driver; leave everything else as is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _bounds(field: Any) -> str:
    limits = [f"at least {m.ge}" for m in field.metadata if getattr(m, "ge", None) is not None]
    limits += [f"at most {m.le}" for m in field.metadata if getattr(m, "le", None) is not None]
    return f" ({', '.join(limits)})" if limits else ""


def _shown(default: Any) -> str:
    if default is None or default == "":
        return "unset"
    if isinstance(default, bool):
        return f"`{int(default)}`"
    return f"`{default}`"


def markdown_table() -> str:
    """The README's configuration table: variable, default, meaning (with bounds)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for field in Settings.model_fields.values():
        meaning = f"{field.description}{_bounds(field)}"
        rows.append(f"| `{field.alias}` | {_shown(field.default)} | {meaning} |")
    return "\n".join(rows)


def fixed_now(environ: Mapping[str, str] | None = None) -> datetime | None:
    """`FRAUD_NOW` alone, for the clock's hot path (a column default calls it per row): None
    when unset; each distinct value is validated once."""
    environ = os.environ if environ is None else environ
    raw = environ.get(Settings.variable("now"), "").strip()
    return _instant(raw) if raw else None


@lru_cache(maxsize=64)
def _instant(raw: str) -> datetime:
    try:
        return Settings.model_validate({Settings.variable("now"): raw}).now
    except ValidationError as error:
        raise ValueError(_explain(error, {Settings.variable("now"): raw})) from None


if __name__ == "__main__":
    print(markdown_table())
