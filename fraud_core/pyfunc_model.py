"""The `python_function` flavour of a logged fraud model: raw transactions in, P(fraud) out.

`mlflow.pyfunc.load_model("models:/fraud-detector@champion").predict(df)` featurizes a DataFrame
of raw transactions (the `Transaction` fields) with THE feature pipeline and returns the fraud
probability of each row. The pipeline travels with the model: `fraud_core/{__init__,schema,
features,pyfunc_model}.py` are copied into its `code/` folder, which MLflow puts on `sys.path`
where `fraud_core` is not installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.features import FEATURE_SPEC, featurize_frame
from fraud_core.schema import USD_PER_UNIT

if TYPE_CHECKING:
    import pandas as pd
    import xgboost

CODE_DIR = "code"
SPEC_FILE = "feature_spec.json"
BUNDLED = ("__init__.py", "schema.py", "features.py", "pyfunc_model.py")
# Raw transaction columns the pipeline reads: (name, MLflow type, required). `any` where MLflow's
# types are too strict: its `datetime` refuses timezone-aware times (naive means UTC here), and a
# nullable whole number arrives as floats with NaN.
INPUT_COLUMNS = (
    ("event_time", "any", True),
    ("amount", "double", True),
    ("currency", "string", True),
    ("account_age_days", "long", True),
    ("payment_method", "string", True),
    ("wallet_provider", "string", False),
    ("card_present", "boolean", True),
    ("merchant_category", "string", True),
    ("customer_country", "string", True),
    ("merchant_country", "string", True),
    ("channel", "string", True),
    ("device_age_days", "any", False),
)


def bundle_code(model_dir: Path) -> str:
    """Copy the feature pipeline into `model_dir/code/fraud_core`; returns the code folder name."""
    target = model_dir / CODE_DIR / "fraud_core"
    target.mkdir(parents=True)
    for name in BUNDLED:
        shutil.copyfile(Path(__file__).with_name(name), target / name)
    return CODE_DIR


def input_example() -> pd.DataFrame:
    """One raw transaction, as the model's input example."""
    import pandas as pd

    return pd.DataFrame(
        {
            "event_time": [pd.Timestamp("2026-01-05T12:30:00Z")],
            "amount": [42.5],
            "currency": ["EUR"],
            "account_age_days": [400],
            "payment_method": ["card"],
            "wallet_provider": [None],
            "card_present": [False],
            "merchant_category": ["electronics"],
            "customer_country": ["DE"],
            "merchant_country": ["DE"],
            "channel": ["online"],
            "device_age_days": [30.0],
        }
    )


class FraudProbabilities:
    """What `mlflow.pyfunc.load_model` wraps: `predict(df)` -> fraud probabilities (float64)."""

    def __init__(self, booster: xgboost.Booster) -> None:
        self.booster = booster

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        import pandas as pd

        if not isinstance(model_input, pd.DataFrame):
            raise ValueError(f"expected a DataFrame of transactions, got {type(model_input)}")
        currencies = model_input.get("currency", [])
        unknown = sorted(set(currencies) - set(USD_PER_UNIT) - {None})
        if unknown:
            raise ValueError(f"currency: not settled by this platform: {unknown}")
        features = featurize_frame(model_input)
        return self.booster.inplace_predict(features).astype(np.float64)


def _load_pyfunc(path: str) -> FraudProbabilities:
    """MLflow's entry point; `path` is the model's XGBoost file, beside its feature spec."""
    import xgboost

    FEATURE_SPEC.check_compatible(json.loads(Path(path).with_name(SPEC_FILE).read_text()))
    booster = xgboost.Booster()
    booster.load_model(path)
    return FraudProbabilities(booster)
