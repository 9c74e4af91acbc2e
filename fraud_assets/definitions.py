"""The `fraud_assets` code location: everything under `defs/`, discovered by dg conventions.

A settings profile (`fraud_assets.profile`, e.g. the demo's intervals) is applied first. The
tree is built at the defs folder itself: what `dg.load_from_defs_folder` returns, without the
JSON of every installed plugin's component types that it merges in for the UI's component
catalog (this project declares no components; it was a third of the location's load,
`benchmarks/load_definitions.py`)."""

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
    here = Path(__file__).parent
    with warnings.catch_warnings():
        # the tree loads each module with Dagster's preview `load_definitions_from_module(s)`:
        # its own calls, silenced as `load_from_defs_folder` silences them
        warnings.filterwarnings(
            "ignore", r"Function `load_definitions_from_module", dg.PreviewWarning
        )
        tree = dg.ComponentTree.for_project(path_within_project=here)
        found = tree.build_defs(here / "defs")
    return dg.Definitions.merge(found, dg.Definitions(component_tree=tree))
