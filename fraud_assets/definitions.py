"""The `fraud_assets` code location: everything under `defs/`, discovered by dg conventions.

A settings profile (`fraud_assets.profile`, e.g. the demo's intervals) is applied first."""

from pathlib import Path

import dagster as dg

from fraud_assets.profile import apply_profile


@dg.definitions
def defs() -> dg.Definitions:
    apply_profile()
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
