"""The `release` resource takes its knobs from the environment when the definitions load."""

import pytest

from fraud_assets.defs.release.settings import release_resources
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


def test_effect_size_and_sizes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from fraud_core.settings import _RELEASE_FIELDS, Settings, get_settings

    for name in _RELEASE_FIELDS:
        monkeypatch.delenv(Settings.variable(name), raising=False)
    default = _plan()
    assert (default.decline_increase, default.decline_floor) == (0.2, 0.001)
    assert default.stage_min_samples is None and default.stage_size(10) > 20_000  # computed
    monkeypatch.setenv("FRAUD_RELEASE_DECLINE_INCREASE", "0.5")
    monkeypatch.setenv("FRAUD_RELEASE_DECLINE_FLOOR", "0.002")
    monkeypatch.setenv("FRAUD_STAGE_MIN_SAMPLES", "0")  # 0: computed
    looser = _plan()
    assert (looser.decline_increase, looser.decline_floor) == (0.5, 0.002)
    assert looser.stage_size(10) < default.stage_size(10) / 4  # +50 % needs far fewer
    assert looser == get_settings().release_plan()  # what `fraudops status` reads
    monkeypatch.setenv("FRAUD_STAGE_MIN_SAMPLES", "200")
    assert _plan().stage_size(10) == _plan().stage_size(50) == 200
    for variable, bad in (("FRAUD_RELEASE_DECLINE_INCREASE", "lots"),
                          ("FRAUD_RELEASE_DECLINE_INCREASE", "0"),
                          ("FRAUD_RELEASE_DECLINE_FLOOR", "-0.1"),
                          ("FRAUD_STAGE_MIN_SAMPLES", "1.5")):  # fmt: skip
        monkeypatch.setenv(variable, bad)
        with pytest.raises(ValueError, match=variable):
            _plan()
        monkeypatch.delenv(variable)


def test_the_resource_carries_every_field_of_the_plan() -> None:
    from dataclasses import fields

    from fraud_assets.defs.release.settings import ReleaseSettings

    plan = {f.name for f in fields(ReleasePlan)}
    assert set(ReleaseSettings.model_fields) == plan | {"scorer_url", "prometheus_url"}
    odd = ReleasePlan(stages=(5, 100), min_fpr_labels=7, stage_min_samples=300, max_fpr=0.2)
    assert ReleaseSettings.from_plan(odd).plan() == odd
