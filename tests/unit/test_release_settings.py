"""The `release` resource takes its knobs from the environment when the definitions load."""

import pytest

from fraud_assets.defs.deployment.settings import release_resources
from fraud_core.release import ReleasePlan


def _plan() -> ReleasePlan:
    return release_resources().resources["release"].plan()


def test_canary_latency_slo_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRAUD_CANARY_P99_SLO_SECONDS", raising=False)
    assert _plan().p99_latency_slo_seconds == ReleasePlan().p99_latency_slo_seconds
    monkeypatch.setenv("FRAUD_CANARY_P99_SLO_SECONDS", "0.01")
    assert _plan().p99_latency_slo_seconds == 0.01
    for bad in ("fast", "0", "-1"):
        monkeypatch.setenv("FRAUD_CANARY_P99_SLO_SECONDS", bad)
        with pytest.raises(ValueError, match="FRAUD_CANARY_P99_SLO_SECONDS"):
            _plan()
