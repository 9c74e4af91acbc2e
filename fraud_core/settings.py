"""Configuration from the environment, with embedded defaults for a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MODEL_NAME = "fraud-detector"
DEV_HASH_KEY = "fraud-mlops-dev-hash-key"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_number(name: str, default: float, low: float, high: float | None = None) -> float:
    """A number from the environment variable `name` (default when unset), within bounds;
    ValueError names the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name}={raw!r}: must be {bounds}")
    return value


def training_days() -> int:
    """`FRAUD_TRAINING_DAYS` (90): the training window, read when a run starts."""
    return int(env_number("FRAUD_TRAINING_DAYS", 90, 1))


def legit_keep_fraction() -> float:
    """`FRAUD_LEGIT_KEEP_FRACTION` (1.0: off): the share of legitimate training rows the fit
    keeps, each weighted 1/fraction (negative downsampling; the holdout is never sampled)."""
    return env_number("FRAUD_LEGIT_KEEP_FRACTION", 1.0, 0.001, 1.0)


def label_maturity_days() -> float:
    """`FRAUD_LABEL_MATURITY_DAYS` (45): after this long an unreported approval counts as
    legit for training; read when a run starts."""
    return env_number("FRAUD_LABEL_MATURITY_DAYS", 45.0, 0)


def online_retention_days() -> int:
    """`FRAUD_ONLINE_RETENTION_DAYS` (0: off): days of predictions the online log keeps once
    the lake holds them; at least 7 when set (canary stages read the log); read at run time."""
    days = int(env_number("FRAUD_ONLINE_RETENTION_DAYS", 0, 0))
    if 0 < days < 7:
        raise ValueError(f"FRAUD_ONLINE_RETENTION_DAYS={days}: must be 0 (off) or at least 7")
    return days


def normalize_db_url(url: str) -> str:
    """Map bare PostgreSQL URLs to the psycopg 3 driver; leave everything else as is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    """Everything the platform reads from its environment."""

    var_dir: Path = field(default_factory=lambda: Path(_env("FRAUD_VAR_DIR", "var")))
    db_url: str = ""
    mlflow_tracking_uri: str = ""
    mlflow_artifact_root: str = ""
    api_key: str | None = field(default_factory=lambda: os.environ.get("FRAUD_API_KEY") or None)
    hash_key: str = field(default_factory=lambda: _env("FRAUD_HASH_KEY", DEV_HASH_KEY))
    model_name: str = field(default_factory=lambda: _env("FRAUD_MODEL_NAME", MODEL_NAME))

    def __post_init__(self) -> None:
        var = self.var_dir
        if not self.db_url:
            object.__setattr__(
                self, "db_url", _env("FRAUD_DB_URL", f"sqlite:///{var / 'fraud.db'}")
            )
        object.__setattr__(self, "db_url", normalize_db_url(self.db_url))
        if not self.mlflow_tracking_uri:
            object.__setattr__(
                self,
                "mlflow_tracking_uri",
                _env("MLFLOW_TRACKING_URI", f"sqlite:///{var / 'mlflow.db'}"),
            )
        if not self.mlflow_artifact_root:
            object.__setattr__(
                self,
                "mlflow_artifact_root",
                _env("FRAUD_MLFLOW_ARTIFACTS", str((var / "mlartifacts").resolve())),
            )

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"

    @property
    def landing_dir(self) -> Path:
        return self.var_dir / "landing" / "labels"

    def ensure_dirs(self) -> None:
        """Create the local state folders (only under var/)."""
        for path in (self.var_dir, self.reports_dir, self.landing_dir):
            path.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    """Settings read from the current environment."""
    return Settings()
