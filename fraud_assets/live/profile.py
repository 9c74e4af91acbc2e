"""The demo's settings: written as the code location's profile (`fraud_assets.profile`),
applied by reloading the location through the webserver's GraphQL API (what the UI's
"Reload" button does), removed (and reloaded again) when the demo ends."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from fraud_assets.profile import profile_path

LOCATION = "fraud_assets"
TRAINING_DAYS = 30
RELOAD = """mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry { locationOrLoadError { __typename } }
    ... on PythonError { message }
  }
}"""
STATUS = """query { workspaceOrError { ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def demo_profile(scorer_url: str, min_labels: int) -> dict[str, str]:
    """Intervals for a loop that completes in minutes (production: hours to days)."""
    return {
        "FRAUD_SENSOR_INTERVAL_SECONDS": "10",  # production 300 s (retraining), 60 s (release)
        "FRAUD_MONITORING_CRON": "* * * * *",  # production every 6 hours
        "FRAUD_RETRAIN_MIN_LABELS": str(min_labels),  # production 1000
        "FRAUD_TRAINING_DAYS": str(TRAINING_DAYS),  # production 90
        "FRAUD_LABEL_MATURITY_DAYS": "0",  # production 45: the demo reports every outcome at once
        "FRAUD_SHADOW_MIN_ROWS": "300",  # production computed (22,585)
        "FRAUD_SHADOW_MIN_SECONDS": "20",  # production 72 h
        "FRAUD_STAGE_MIN_SAMPLES": "80",  # production computed (29,025 at 10 %)
        "FRAUD_STAGE_MIN_SECONDS": "15",  # production 1 h
        "FRAUD_SCORER_URL": scorer_url,
    }


def write_profile(values: dict[str, str]) -> Path:
    path = profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# written by `fraudops demo --loop`; deleted when it ends"]
    lines += [f"{k}={v!r}" if " " in v else f"{k}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def remove_profile() -> None:
    profile_path().unlink(missing_ok=True)


def reload_location(dagster_url: str, timeout: float = 300.0) -> float:
    """Reload the code location and wait until it is loaded again; seconds it took."""
    started = time.monotonic()
    url = dagster_url.rstrip("/") + "/graphql"
    with httpx.Client(timeout=timeout) as client:
        reply = client.post(url, json={"query": RELOAD, "variables": {"name": LOCATION}})
        reply.raise_for_status()
        while time.monotonic() - started < timeout:
            entries = client.post(url, json={"query": STATUS}).json()["data"]
            for entry in entries["workspaceOrError"]["locationEntries"]:
                if entry["name"] != LOCATION or entry["loadStatus"] != "LOADED":
                    continue
                error = entry["locationOrLoadError"]
                if error and error["__typename"] == "PythonError":
                    raise RuntimeError(f"code location failed to load: {error['message']}")
                return time.monotonic() - started
            time.sleep(1.0)
    raise RuntimeError(f"code location not reloaded after {timeout:.0f} s")
