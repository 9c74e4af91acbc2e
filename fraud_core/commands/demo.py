"""`fraudops demo`: live simulated traffic against a running scorer, with disputes fed back."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from fraud_core.schema import MAX_BATCH

PHASES = ("pre-drift", "drifted")
PHASE_DAYS = 30
DRIFT_DAYS = 180
FEEDBACK_RETRY_SECONDS = 15.0


@dataclass
class DemoTally:
    """What the scorer decided on the demo traffic, with the hidden truth beside it."""

    decisions: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    legit: int = 0
    legit_blocked: int = 0
    fraud: int = 0
    fraud_blocked: int = 0
    disputes_posted: int = 0

    def record(self, response: dict[str, Any], is_fraud: bool, latency_ms: float) -> None:
        blocked = response["decision"] == "block"
        self.decisions[(response["variant"], response["model_version"], response["decision"])] += 1
        self.latencies_ms.append(latency_ms)
        if is_fraud:
            self.fraud += 1
            self.fraud_blocked += blocked
        else:
            self.legit += 1
            self.legit_blocked += blocked

    def summary(self) -> str:
        import numpy as np

        lines = ["variant   model  decision  count"]
        lines += [f"{v:<9} {m:<6} {d:<9} {n}" for (v, m, d), n in sorted(self.decisions.items())]
        if self.latencies_ms:
            p50, p99 = np.percentile(self.latencies_ms, [50, 99])
            lines.append(f"latency over HTTP: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        fpr = self.legit_blocked / self.legit if self.legit else float("nan")
        lines.append(f"legitimate customers blocked: {self.legit_blocked}/{self.legit} ({fpr:.1%})")
        if self.fraud:
            recall = self.fraud_blocked / self.fraud
            lines.append(f"fraud blocked: {self.fraud_blocked}/{self.fraud} ({recall:.1%})")
        lines.append(f"disputes fed back as labels: {self.disputes_posted}")
        if self.errors:
            lines.append(f"errors: {dict(self.errors)}")
        return "\n".join(lines)


def demo_traffic(phase: str, count: int, seed: int):
    """`count` simulated payments (and their truth) from the start or the end of the drift."""
    from fraud_core.simulation import DriftSchedule, WorldConfig, simulate_world

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    tx_per_day = max(10, -(-count // PHASE_DAYS))
    if phase == "drifted":  # the last month of the case study's six months of drift
        config = WorldConfig.ending(yesterday, DRIFT_DAYS, tx_per_day=tx_per_day)
    else:
        config = WorldConfig.ending(
            yesterday, PHASE_DAYS, tx_per_day=tx_per_day, drift=DriftSchedule.stationary(yesterday)
        )
    world = simulate_world(config, seed)
    tail = world.transactions.index[-PHASE_DAYS * tx_per_day :]
    rows = world.transactions.loc[tail].sample(n=min(count, len(tail)), random_state=seed)
    return rows, world.oracle.loc[rows.index, "is_fraud"].to_numpy()


def _loop_command():
    """`--loop` lives above fraud_core (it drives Dagster): found through the entry point
    `demo-loop` of the `fraudops.commands` group."""
    from importlib.metadata import entry_points

    found = entry_points(group="fraudops.extensions", name="demo-loop")
    if not found:
        raise click.ClickException("--loop needs the fraud_assets package (the Dagster code)")
    return next(iter(found)).load()


def transaction_body(
    row: dict[str, Any], transaction_id: str, simulated_time: bool = False
) -> dict[str, Any]:
    """A simulated row as the JSON a payment platform sends, stamped now, or with
    `simulated_time` at the row's own (past) event time: fraud keeps its night hours, and what
    the scorer decides no longer turns with the wall clock's hour."""
    body = {k: (None if v != v else v) for k, v in row.items()}  # NaN -> None
    body["transaction_id"] = transaction_id
    own = body.get("event_time") if simulated_time else None
    body["event_time"] = (own or datetime.now(UTC)).isoformat()
    if body.get("device_age_days") is not None:
        body["device_age_days"] = int(body["device_age_days"])
    return body


def dispute_label(transaction_id: str) -> dict[str, Any]:
    """A wrongly blocked customer's complaint, verified by support."""
    return {
        "transaction_id": transaction_id,
        "label": "legit",
        "source": "dispute",
        "reported_at": datetime.now(UTC).isoformat(),
        "note": "demo: customer disputed the block, support verified",
    }


def post_disputes(client, disputes: list[dict], headers: dict, tally: DemoTally) -> None:
    """POST /feedback, retried for a few seconds while the scorer still holds a label's
    prediction in its log (503 `prediction_pending`, or 422 for ids no worker knows yet);
    what is still refused after that is counted as an error.

    A 200, 422 or `prediction_pending` 503 stored every label it does not name in `rejected`
    (counted now; a retry of an already stored label counts nothing); any other 503 stored
    nothing and the whole batch is retried."""
    deadline = time.monotonic() + FEEDBACK_RETRY_SECONDS
    while disputes:
        response = client.post("/feedback", json=disputes, headers=headers)
        if response.status_code not in (200, 422, 503):
            tally.errors[f"feedback {response.status_code}"] += len(disputes)
            return
        body = _json(response)
        if response.status_code != 503 or "rejected" in body:
            tally.disputes_posted += body.get("inserted", 0) + body.get("updated", 0)
            refused = {r["transaction_id"] for r in body.get("rejected", [])}
            disputes = [d for d in disputes if d["transaction_id"] in refused]
        if disputes and time.monotonic() > deadline:
            tally.errors[f"feedback {response.status_code}"] += len(disputes)
            return
        if disputes:
            time.sleep(min(float(response.headers.get("Retry-After") or 0.5), 2.0))


def _json(response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@click.command()
@click.option("--url", default="http://127.0.0.1:3001", show_default=True, help="Scorer URL.")
@click.option("--count", type=click.IntRange(1, 1_000_000), default=500, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(0.1, 10_000),
    default=50.0,
    show_default=True,
    help="Requests per second (at most).",
)
@click.option(
    "--phase",
    type=click.Choice(PHASES),
    default="drifted",
    show_default=True,
    help="Sample payments from before the drift or from its last month.",
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--api-key", envvar="FRAUD_API_KEY", default=None,
              help="Bearer key for POST /feedback (env FRAUD_API_KEY); without it no "
              "disputes are fed back.")  # fmt: skip
@click.option("--loop", is_flag=True,
              help="The whole loop, live, against a running `make run`: drifted traffic and "
              "its outcomes under short demo intervals (printed) until the daemon promotes or "
              "rolls back a retrained model. --count is then the traffic pool, --rate the "
              "payments per second after the burst.")  # fmt: skip
@click.option(
    "--burst",
    type=click.IntRange(0),
    default=80_000,
    show_default=True,
    help="--loop: drifted payments played at once before the demo profile applies.",
)
@click.option(
    "--dagster-url",
    default="http://127.0.0.1:3000",
    show_default=True,
    help="--loop: the Dagster webserver (its code location is reloaded).",
)
@click.option(
    "--min-labels",
    type=click.IntRange(1),
    default=2000,
    show_default=True,
    help="--loop: the label-volume trigger during the demo.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(60),
    default=900,
    show_default=True,
    help="--loop: give up after this many seconds.",
)
def demo(url: str, count: int, rate: float, phase: str, seed: int, api_key: str | None,
         loop: bool, burst: int, dagster_url: str, min_labels: int,
         timeout: float) -> None:  # fmt: skip
    """Send COUNT simulated payments to a running scorer, as the payment platform would, and
    post a verified dispute for every legitimate customer it blocks (as support would).
    With --loop: watch the platform retrain, gate, shadow, canary and promote, live."""
    import httpx

    if loop:
        options = dict(url=url, count=max(count, burst + 40_000), rate=rate, seed=seed,
                       api_key=api_key, burst=burst, dagster_url=dagster_url.rstrip("/"),
                       min_labels=min_labels, timeout=timeout)  # fmt: skip
        return _loop_command()(options)

    url = url.rstrip("/")
    client = httpx.Client(base_url=url, timeout=10.0)
    try:
        ready = client.get("/readyz")
    except httpx.HTTPError as err:
        raise click.ClickException(f"scorer at {url} is unreachable: {err}") from None
    if ready.status_code != 200:
        raise click.ClickException(f"scorer at {url} is not ready (/readyz {ready.status_code})")
    rows, truth = demo_traffic(phase, count, seed)
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    tally, interval, disputes = DemoTally(), 1.0 / rate, []
    records = rows.astype(object).to_dict(orient="records")
    with click.progressbar(records, label=f"scoring {len(records)} payments ({phase})") as bar:
        for i, row in enumerate(bar):
            started = time.perf_counter()
            body = transaction_body(row, f"demo-{run}-{seed}-{i}")
            response = client.post("/score", json=body)
            latency_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                tally.errors[response.status_code] += 1
                continue
            scored = response.json()
            tally.record(scored, bool(truth[i]), latency_ms)
            if scored["decision"] == "block" and not truth[i]:
                disputes.append(dispute_label(body["transaction_id"]))
            time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    for start in range(0, len(disputes) if api_key else 0, MAX_BATCH):
        post_disputes(client, disputes[start : start + MAX_BATCH], headers, tally)
    click.echo(tally.summary())
    if tally.errors and not tally.decisions:
        raise click.ClickException("every request failed")
