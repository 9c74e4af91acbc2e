"""A real Prometheus (Debian's `prometheus`, started here on a free port with the project's
prometheus.yml and alerts.yml) scraping real scorer processes: the canary's health figures are
summed over both replicas, and HighFPR fires from the scorer's `fraud_fpr` gauge."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from fraud_core.release_prometheus import canary_health
from fraud_core.store import FeedbackStore
from tests.fixtures.scorer import (  # noqa: F401  (fixtures)
    free_port,
    registry_copy,
    scorer_factory,
    serving_models,
    transaction,
)

ACTOR = {"actor": "test", "reason": "test"}
PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def project_config(folder: Path, targets: list[str]) -> Path:
    """deploy/prometheus/prometheus.yml and alerts.yml in `folder`, changed only where a test
    must: 1 s scrape and evaluation intervals, the scorer job on `targets`, no self-scrape, and
    every rule's `for:` at 1 s (the expressions, labels and annotations stay the project's)."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    (scorer,) = [job for job in config["scrape_configs"] if job["job_name"] == "fraud-scorer"]
    scorer["scrape_interval"] = "1s"
    scorer["static_configs"][0]["targets"] = targets
    config["scrape_configs"] = [scorer]
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    (folder / "alerts.yml").write_text(yaml.safe_dump(rules))
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def prometheus(tmp_path: Path):
    """Start a Prometheus on a free port with the project's configuration and alert rules
    (`project_config`); call it with the scrape targets (host:port). Without the binary
    (Debian's `prometheus`, .ci/install-tools): skipped, failed in CI."""
    if shutil.which("prometheus") is None:
        reason = "prometheus not found: install Debian's prometheus package (.ci/install-tools)"
        if os.environ.get("FRAUD_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{reason} (FRAUD_REQUIRE_TOOLS=1: tools are required)")
        pytest.skip(reason)
    started: list[subprocess.Popen] = []

    def start(targets: list[str]) -> str:
        port = free_port()
        config = project_config(tmp_path, targets)
        log = (tmp_path / "prometheus.log").open("wb")
        started.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],  # fmt: skip
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError((tmp_path / "prometheus.log").read_text()[-2000:])

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def _all_up(url: str, replicas: int) -> bool:
    found = httpx.get(f"{url}/api/v1/query", params={"query": "sum(up)"}).json()
    result = found["data"]["result"]
    return bool(result) and float(result[0]["value"][1]) == replicas


def _send(servers, start: int, count: int) -> Counter:
    seen: Counter = Counter()
    for i in range(start, start + count):
        server = servers[i % len(servers)]
        body = server.client.post("/score", json=transaction(i)).raise_for_status().json()
        seen[(server.url, body["variant"], body["decision"], body["explored"])] += 1
    return seen


@pytest.mark.slow
def test_canary_health_sums_every_replica(
    serving_models,  # noqa: F811
    scorer_factory,  # noqa: F811
    prometheus,
    tmp_path,
):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fraud.db'}")
    registry = registry_copy(serving_models, tmp_path / "registry", store)
    registry.set_alias("champion", "1", **ACTOR)
    registry.set_canary("2", 50, **ACTOR)
    env = {"FRAUD_DB_URL": f"sqlite:///{tmp_path / 'fraud.db'}",
           "MLFLOW_TRACKING_URI": registry.tracking_uri}  # fmt: skip
    servers = [scorer_factory.start(env), scorer_factory.start(env)]
    url = prometheus([s.url.removeprefix("http://") for s in servers])
    deadline = time.monotonic() + 30
    while not _all_up(url, 2):
        assert time.monotonic() < deadline, "Prometheus never scraped both scorers"
        time.sleep(0.5)
    warmup = _send(servers, 0, 60)  # creates every series; counts before a series' first
    time.sleep(3)  # scrape are invisible to increase(), so the measured traffic comes after one
    seen = _send(servers, 1000, 400)
    sent = time.monotonic()
    warmup_canary = sum(n for (_, v, *_), n in warmup.items() if v == "canary")

    canary = {s.url: sum(n for (u, v, *_), n in seen.items() if u == s.url and v == "canary")
              for s in servers}  # fmt: skip
    assert min(canary.values()) > 50  # both replicas served the canary
    expected = sum(canary.values())
    deadline = time.monotonic() + 30
    while (health := canary_health(url, "2", 120)).canary.requests < expected:
        assert time.monotonic() < deadline, f"{health} vs {expected} canary requests sent"
        time.sleep(1)
    # increase() extrapolates the series' rate up to ~1.6 scrape intervals past its samples: on a
    # series only seconds old (a loaded machine, scrapes late) that is 25 % more. A stage's window
    # is hours long in production; here the series ages 20 s more so the bias is a few percent.
    time.sleep(max(0.0, 20 - (time.monotonic() - sent)))
    health = canary_health(url, "2", 120)

    # Within that bias, and the stage's window also holds the warm-up requests a scrape saw:
    # never just one replica's share.
    assert expected * 0.85 <= health.canary.requests <= (expected + warmup_canary) * 1.15
    assert health.canary.requests > max(canary.values()) * 1.5
    assert health.canary.errors == 0
    assert 0 < health.canary.p99() <= 1.0
    for variant in ("champion", "canary"):
        mine = {k: n for k, n in seen.items() if k[1] == variant}
        blocked = sum(n for (_, _, decision, _), n in mine.items() if decision == "block")
        assert health.decline_rates[variant] == pytest.approx(
            blocked / sum(mine.values()), abs=0.08
        )
    with pytest.raises(ValueError, match="model version"):
        canary_health(url, '2"}', 60)
    store.close()


def test_an_unreachable_prometheus_leaves_the_stage_to_the_store():
    from fraud_assets.defs.release.sensors import _replica_counters

    assert _replica_counters(f"http://127.0.0.1:{free_port()}", "2", 60) == (None, None)


def _firing(url: str) -> list[dict[str, str]]:
    alerts = httpx.get(f"{url}/api/v1/alerts").raise_for_status().json()["data"]["alerts"]
    return [a["labels"] for a in alerts if a["state"] == "firing"]


@pytest.mark.slow
def test_high_fpr_fires_from_the_scorer_gauge(
    serving_models,  # noqa: F811
    scorer_factory,  # noqa: F811
    prometheus,
    tmp_path,
):
    db_url = f"sqlite:///{tmp_path / 'fraud.db'}"
    store = FeedbackStore(db_url)
    registry = registry_copy(serving_models, tmp_path / "registry", store)
    registry.set_alias("champion", "1", **ACTOR)
    server = scorer_factory.start({"FRAUD_DB_URL": db_url,
                                   "MLFLOW_TRACKING_URI": registry.tracking_uri})  # fmt: skip
    url = prometheus([server.url.removeprefix("http://")])
    deadline = time.monotonic() + 30
    while not _all_up(url, 1):
        assert time.monotonic() < deadline, "Prometheus never scraped the scorer"
        time.sleep(0.5)
    time.sleep(3)  # several evaluations without an FPR figure: quiet
    assert not [a for a in _firing(url) if a["alertname"].endswith("FPR")]

    now = datetime.now(UTC)
    window = {"computed_at": now, "window_start": now - timedelta(days=7), "window_end": now}
    fpr = {"metric": "fpr", "model_version": "1", "variant": "champion", "source": "test"}
    store.write_metrics([{**window, **fpr, "value": 0.13}])  # over 12 %, under 15 %
    deadline = time.monotonic() + 30
    while not (fired := [a for a in _firing(url) if a["alertname"] == "HighFPR"]):
        assert time.monotonic() < deadline, "HighFPR never fired"
        time.sleep(0.5)
    assert [(a["model_version"], a["variant"], a["severity"]) for a in fired] == [
        ("1", "champion", "warning")
    ]
    assert not [a for a in _firing(url) if a["alertname"] == "CriticalFPR"]
    store.close()
