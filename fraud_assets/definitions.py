"""The `fraud_assets` code location: everything under `defs/`, discovered by dg conventions.

A settings profile (`fraud_assets.profile`, e.g. the demo's intervals) is applied first."""

import warnings
from pathlib import Path

import dagster as dg

from fraud_assets.profile import apply_profile


@dg.definitions
def defs() -> dg.Definitions:
    apply_profile()
    # Dagster 1.13 re-creates every sensor with `owners=` as it attaches resources
    # (`SensorDefinition.with_attributes`) and warns that the parameter is beta: its own call,
    # not ours (no sensor here sets owners).
    warnings.filterwarnings(
        "ignore", r"Parameter `owners` of initializer `SensorDefinition", dg.BetaWarning
    )
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
