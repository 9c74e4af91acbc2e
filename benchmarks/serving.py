"""Scoring speed, from raw `inplace_predict` to `/score` over HTTP, all in one run.

Measured on the same model (the case study's recipe, depth 6 x 200 trees, trained on a
simulated world):

- raw `Booster.inplace_predict` on one row, and the in-process scoring core (`Scorer.score`:
  features, routing, threshold, decision, metrics; with and without the prediction log and
  shadow) -> ratio core / raw (target <= 2);
- `POST /score` over HTTP on three BentoML services (2 workers each, SQLite store, each on its
  own registry: shadow off, shadow on, canary 10% + shadow) and on a bare ASGI baseline
  (Starlette under uvicorn, 2 workers, same validation and scoring core, no log): p50/p99
  latency and throughput at concurrency 1 and 16, and p99 at a paced 200 req/s (target
  <= 10 ms with shadow on); shadow's effect on p50 (target <= +10%); BentoML's own CPU per
  request (server CPU per request at saturation, minus the baseline's).

With ``--before REF`` (e.g. ``main``) a fourth BentoML service (shadow on) serves the code of
that git revision (exported to a temp folder, same virtualenv), and the report prints it
beside this tree's shadow-on service: the before/after of a change, measured in the same run.
In process, the scoring core with the prediction log is timed with and without the
write-ahead file (the cost of crash safety on the request path).

All servers run side by side and every round measures each of them in turn; the figures are
medians over the rounds (and the worst round's p99 for the target), so a change in machine load
during the run touches every server alike instead of whichever was measured then.

Load comes from `wrk` (Debian package `wrk`; C, a Lua script rotating simulated transactions
with unique ids), so it takes little of the two cores the servers use: closed loop at `-c 1`
and `-c 16`; the paced run has 20 connections each waiting a random 50-150 ms between its
requests (about 200 req/s while a response takes a few ms; the achieved rate is printed).
Server CPU per request is the servers' process-tree CPU time
(psutil) over the requests of a run, which another process's load disturbs much less than
latency: read latencies with the load average printed around them.

    uv run python benchmarks/serving.py [--seconds 6] [--rounds 3] [--workers 2] [--before main]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ACTOR = {"actor": "benchmark", "reason": "serving benchmark"}
WRK_SCRIPT = """
local bodies, n, counter, prefix = {}, 0, 0, ""
for line in io.lines("%(bodies)s") do n = n + 1; bodies[n] = line end
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) prefix = "%(run)s-" .. tid .. "-" end
function request()
  counter = counter + 1
  local body = bodies[(counter %% n) + 1]:gsub("__ID__", prefix .. counter)
  return wrk.format("POST", "/score", {["Content-Type"] = "application/json"}, body)
end
%(delay)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"errors":%%d,"p50":%%d,"p99":%%d,"mean":%%f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def baseline_app():
    """Bare ASGI baseline: Starlette, pydantic validation, the same scoring core, no log.

    Started by uvicorn (`--factory`) with BENCH_MODEL set to a saved booster.
    """
    import xgboost as xgb
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from fraud_core.features import FEATURE_SPEC
    from fraud_core.model import LoadedModel
    from fraud_core.schema import Transaction
    from fraud_serving.model_slots import Slots
    from fraud_serving.scorer import Scorer

    booster = xgb.Booster(model_file=os.environ["BENCH_MODEL"])
    booster.set_param({"nthread": 1})  # as the registry loads it for serving
    model = LoadedModel("1", None, FEATURE_SPEC, booster)
    scorer = Scorer(Slots(champion=model, policies={}), hash_key="bench")

    async def score(request: Request) -> Response:
        tx = Transaction.model_validate_json(await request.body())
        body = scorer.score(tx).model_dump_json()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/score", score, methods=["POST"])])


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1e3
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99))}


def timed(fn, items: list, rounds: int = 3) -> dict[str, float]:
    """Per-call latency (ms) of fn(item), best of `rounds` passes by median."""
    best: dict[str, float] | None = None
    for _ in range(rounds):
        samples = []
        for item in items:
            started = time.perf_counter()
            fn(item)
            samples.append(time.perf_counter() - started)
        result = percentiles(samples)
        if best is None or result["p50"] < best["p50"]:
            best = result
    return best


def train(days: int, tx_per_day: int) -> tuple[list[Any], list[dict], np.ndarray]:
    """Three recipe-sized models on a simulated world, and request bodies from its last day."""
    import xgboost as xgb

    from fraud_core.features import featurize_frame
    from fraud_core.simulation.config import WorldConfig
    from fraud_core.simulation.world import simulate_world

    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    world = simulate_world(WorldConfig.ending(yesterday, days, tx_per_day=tx_per_day), seed=7)
    X, y = featurize_frame(world.transactions), world.is_fraud.astype(int)
    weight = float((y == 0).sum() / max(1, (y == 1).sum()))
    models = [
        xgb.XGBClassifier(
            max_depth=depth, n_estimators=200, learning_rate=0.1, scale_pos_weight=weight,
            subsample=subsample, random_state=seed, n_jobs=2, tree_method="hist",
        ).fit(X, y)
        for seed, depth, subsample in ((0, 6, 1.0), (1, 6, 0.8), (2, 5, 0.9))
    ]  # fmt: skip
    recent = world.transactions.tail(3000).copy()
    recent["event_time"] = recent["event_time"].map(lambda t: t.isoformat())
    bodies = []
    for row in recent.to_dict("records"):
        row = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        row["transaction_id"] = "__ID__"
        bodies.append(row)
    return models, bodies, X[-3000:]


def run_wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    duration, timeout = f"{round(seconds)}s", "5s"
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", duration]
    done = subprocess.run(
        [*command, "--timeout", timeout, "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith('{"requests"'))
    out = json.loads(line)
    return {
        "rps": out["requests"] / (out["duration_us"] / 1e6),
        "p50": out["p50"] / 1e3,
        "p99": out["p99"] / 1e3,
        "errors": out["errors"],
        "requests": out["requests"],
    }


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants (server workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


PACED_CONNECTIONS = 20
BEFORE = "before: shadow on"


def wrk_script(folder: Path, bodies: Path, run: str, rate: float | None = None) -> Path:
    """The Lua script of one run; with `rate`, each of PACED_CONNECTIONS connections waits a
    uniform random 0.5-1.5 x (connections / rate) between its requests (think time)."""
    delay = ""
    if rate is not None:
        mean_ms = PACED_CONNECTIONS * 1000.0 / rate
        delay = f"function delay() return math.floor({mean_ms} * (0.5 + math.random())) end"
    path = folder / f"{run}.lua"
    path.write_text(WRK_SCRIPT % {"bodies": bodies, "run": run, "delay": delay})
    return path


class Bench:
    """Runs the load plans against every server in turn, `rounds` times, so that a change in
    machine load over the run touches all servers alike; reports medians over rounds."""

    def __init__(self, folder: Path, bodies: Path, seconds: float) -> None:
        self.folder, self.bodies, self.seconds = folder, bodies, seconds
        self.runs = 0
        self.samples: dict[tuple[str, str], list[dict[str, float]]] = {}

    def warm(self, url: str) -> None:
        run_wrk(url, wrk_script(self.folder, self.bodies, f"warm{self.runs}"), 3, 4)
        self.runs += 1

    def measure(self, name: str, url: str, pid: int, paced: bool = True) -> None:
        plans = [("c=1", 1, None), ("c=16", 16, None)]
        if paced:
            plans.append(("200/s", PACED_CONNECTIONS, 200.0))
        for label, conns, rate in plans:
            self.runs += 1
            script = wrk_script(self.folder, self.bodies, f"r{self.runs}", rate)
            cpu = tree_cpu_seconds(pid)
            r = run_wrk(url, script, self.seconds, conns)
            r["cpu_ms"] = (tree_cpu_seconds(pid) - cpu) * 1e3 / max(1, r["requests"])
            self.samples.setdefault((name, label), []).append(r)
            print(
                f"  {name:<26} {label:<6} p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
                f"  {r['rps']:6.0f} req/s  server CPU {r['cpu_ms']:.2f} ms/req"
                f"  errors {r['errors']}",
                flush=True,
            )

    @property
    def results(self) -> dict[tuple[str, str], dict[str, float]]:
        """Median of each figure over the rounds, plus the worst p99 (`p99_max`)."""
        out = {}
        for key, runs in self.samples.items():
            out[key] = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            out[key]["p99_max"] = max(r["p99"] for r in runs)
        return out


def export_revision(ref: str, folder: Path) -> Path:
    """The tree of git revision `ref` in `folder` (git archive: committed files only)."""
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def start_scorers(
    folder: Path, models: list, factory, workers: int, before: Path | None = None
) -> dict[str, Any]:
    """Scorers, each on its own registry: shadow off, shadow on, canary 10% + shadow, and
    with `before` (another source tree) shadow on serving that code."""
    from fraud_core.registry import ModelRegistry
    from fraud_core.store import FeedbackStore

    setups = {
        "bentoml shadow off": {},
        "bentoml shadow on": {"challenger": "3"},
        "bentoml canary 10% + shadow": {"challenger": "3", "canary": "2"},
    }
    if before is not None:
        setups[BEFORE] = {"challenger": "3"}
    servers = {}
    for i, (name, aliases) in enumerate(setups.items()):
        home = folder / f"scorer{i}"
        home.mkdir()
        # The alias moves are audited in a store of their own: the scorer's store is created
        # by the code it serves, at that code's schema revision (an older tree cannot open a
        # store that this tree has migrated past its head).
        registry = ModelRegistry(
            f"sqlite:///{home / 'mlflow.db'}",
            store=FeedbackStore(f"sqlite:///{home / 'audit.db'}"),
            artifact_root=str(home / "mlartifacts"),
        )
        for model in models:
            registry.log_model(model, metrics={})
        registry.set_alias("champion", "1", **ACTOR)
        if "challenger" in aliases:
            registry.set_alias("challenger", aliases["challenger"], **ACTOR)
        if "canary" in aliases:
            registry.set_canary(aliases["canary"], 10, **ACTOR)
        server = factory.start(
            {
                "FRAUD_DB_URL": f"sqlite:///{home / 'fraud.db'}",
                "MLFLOW_TRACKING_URI": registry.tracking_uri,
                "FRAUD_REGISTRY_POLL_SECONDS": "10",
                "FRAUD_LOG_FLUSH_SECONDS": "0.5",
            },
            workers=workers,
            root=home / "server",
            code=before if name == BEFORE else REPO,
        )
        # revisions before the slot rename report the challenger as "shadow"
        challenger = aliases.get("challenger")
        wait_for(server, lambda m, c=challenger: m.get("challenger", m.get("shadow")) == c)
        wait_for(server, lambda m, a=aliases: m["canary"] == a.get("canary"))
        servers[name] = server
    return servers


def wait_for(server, check, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while not all(check(httpx.get(f"{server.url}/model").json()) for _ in range(8)):
        if time.monotonic() > deadline:
            raise TimeoutError("the scorer did not follow the registry")
        time.sleep(0.2)


def start_baseline(folder: Path, booster, workers: int) -> tuple[str, subprocess.Popen]:
    from tests.fixtures.scorer import free_port

    booster.save_model(str(folder / "model.ubj"))
    port = free_port()
    app = "benchmarks.serving:baseline_app"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory", "--workers", str(workers)]
        + ["--port", str(port), "--no-access-log"],
        cwd=REPO,
        env={**os.environ, "BENCH_MODEL": str(folder / "model.ubj")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return f"http://127.0.0.1:{port}", process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="passes over all servers")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=int, default=20, help="simulated days to train on")
    parser.add_argument("--tx-per-day", type=int, default=2500)
    parser.add_argument("--before", metavar="REF", help="also serve this git revision")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/serving.py needs wrk (Debian: apt-get install wrk)")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from fraud_core.features import FEATURE_SPEC, featurize
    from fraud_core.model import LoadedModel
    from fraud_core.schema import Transaction
    from fraud_core.store import FeedbackStore
    from fraud_serving.model_slots import Slots
    from fraud_serving.prediction_log import PredictionLog
    from fraud_serving.scorer import Scorer
    from fraud_serving.shadow import ShadowRunner
    from fraud_serving.wal import WriteAheadLog
    from tests.fixtures.scorer import ScorerFactory

    print(f"load average before: {os.getloadavg()}  cores: {os.cpu_count()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    started = time.monotonic()
    models, bodies, X = train(args.days, args.tx_per_day)
    print(f"trained 3 models in {time.monotonic() - started:.0f} s", flush=True)
    body_file = folder / "bodies.jsonl"
    body_file.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in bodies))
    txs = [
        Transaction.model_validate({**b, "transaction_id": f"inproc-{i}"})
        for i, b in enumerate(bodies)
    ]
    boosters = [m.get_booster() for m in models]
    for booster in boosters:  # as the registry loads them for serving
        booster.set_param({"nthread": 1})

    # -- in-process ---------------------------------------------------------------------
    print("\nin-process, one transaction per call (ms, best of 3 passes)")
    raw = timed(lambda i: boosters[0].inplace_predict(X[i : i + 1]), list(range(len(X))))
    with_features = timed(lambda t: boosters[0].inplace_predict(featurize(t)[None, :]), txs)
    loaded = [LoadedModel(str(i + 1), None, FEATURE_SPEC, b) for i, b in enumerate(boosters)]
    core = Scorer(Slots(champion=loaded[0], policies={}), hash_key="bench")
    core_timing = timed(core.score, txs)
    store = FeedbackStore(f"sqlite:///{folder / 'inproc.db'}")
    full_timing: dict[str, dict[str, float]] = {}
    for name, wal in (("no WAL", None), ("WAL", folder / "wal")):
        log = PredictionLog(
            store, folder / "spool", wal=wal and WriteAheadLog(wal, fsync_seconds=1.0)
        ).start()
        shadow = ShadowRunner(log).start()
        full = Scorer(
            Slots(champion=loaded[0], challenger=loaded[2], policies={}),
            hash_key="bench",
            prediction_log=log,
            shadow=shadow,
        )
        full_timing[name] = timed(full.score, txs)
        shadow.close()
        log.close()
        with store.engine.begin() as conn:  # the next pass inserts the same ids again
            conn.exec_driver_sql("DELETE FROM predictions")
            conn.exec_driver_sql("DELETE FROM prediction_ids")  # their keys too
            conn.exec_driver_sql("DELETE FROM shadow_predictions")
    for name, r in (
        ("raw inplace_predict", raw),
        ("featurize + inplace_predict", with_features),
        ("scoring core", core_timing),
        ("core + log + shadow, no WAL", full_timing["no WAL"]),
        ("core + log (WAL) + shadow", full_timing["WAL"]),
    ):
        print(f"  {name:<28} p50 {r['p50']:.3f}  p99 {r['p99']:.3f}")

    # -- over HTTP ----------------------------------------------------------------------
    factory = ScorerFactory(folder)
    bench = Bench(folder, body_file, args.seconds)
    baseline = None
    try:
        before = args.before and export_revision(args.before, folder / "before")
        scorers = start_scorers(folder, models, factory, args.workers, before or None)
        base_url, baseline = start_baseline(folder, boosters[0], args.workers)
        _wait_ready(f"{base_url}/score", bodies[0])
        targets = [(name, s.url, s.process.pid) for name, s in scorers.items()]
        targets.append(("bare ASGI (uvicorn)", base_url, baseline.pid))
        for _, url, _ in targets:
            bench.warm(url)
        print(
            f"\nHTTP POST /score, {args.workers} workers each, wrk, {args.seconds:.0f} s per run,"
            f" {args.rounds} rounds over all servers",
            flush=True,
        )
        for round_ in range(args.rounds):
            print(f" round {round_ + 1}  (load average {os.getloadavg()[0]:.2f})", flush=True)
            for name, url, pid in targets:
                bench.measure(name, url, pid, paced=not name.startswith("bentoml canary"))
        on = scorers["bentoml shadow on"]
        core_ms = on.metric("fraud_prediction_latency_seconds_sum") / max(
            1, on.metric("fraud_prediction_latency_seconds_count")
        )
        dropped = sum(s.metric("fraud_prediction_log_dropped_total") for s in scorers.values())
    finally:
        factory.stop_all()
        if baseline is not None:
            baseline.terminate()
            baseline.wait(20)
    report(bench.results, raw, core_timing, full_timing["WAL"], core_ms * 1e3, dropped)
    if args.before:
        report_before_after(bench.results, args.before, full_timing)
    print(f"\nload average after: {os.getloadavg()}")
    shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(url: str, body: dict, timeout: float = 180.0) -> None:
    """Until POST `url` scores on 10 fresh connections in a row (every worker is up)."""
    import httpx

    deadline, streak = time.monotonic() + timeout, 0
    while streak < 10:
        try:
            ok = httpx.post(url, json={**body, "transaction_id": "ready"}).status_code == 200
        except httpx.HTTPError:
            ok = False
        streak = streak + 1 if ok else 0
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} is not scoring")
        time.sleep(0.05 if ok else 0.3)


def report(results, raw, core, full, core_ms, dropped) -> None:
    r = results
    off1, on1 = r[("bentoml shadow off", "c=1")], r[("bentoml shadow on", "c=1")]
    off16, on16 = r[("bentoml shadow off", "c=16")], r[("bentoml shadow on", "c=16")]
    base1, base16 = r[("bare ASGI (uvicorn)", "c=1")], r[("bare ASGI (uvicorn)", "c=16")]
    paced_on = r[("bentoml shadow on", "200/s")]
    own = off16["cpu_ms"] - base16["cpu_ms"]
    print("\nratios and targets")
    print(f"  scoring core / raw inplace_predict (p50)  {core['p50'] / raw['p50']:5.2f}x  (<= 2)")
    print(f"  core + log + shadow / raw (p50)           {full['p50'] / raw['p50']:5.2f}x")
    print(
        f"  shadow on / off, p50 at c=1               {on1['p50'] / off1['p50']:5.2f}x  (<= 1.10)"
    )
    paced_off = r[("bentoml shadow off", "200/s")]
    print(
        f"  shadow on / off, p50 at 200/s             {paced_on['p50'] / paced_off['p50']:5.2f}x"
        "  (<= 1.10)"
    )
    print(f"  shadow on / off, server CPU per request   {on16['cpu_ms'] / off16['cpu_ms']:5.2f}x")
    print(
        f"  p99 at {paced_on['rps']:.0f} req/s (paced 200/s), shadow on  {paced_on['p99']:5.2f} ms"
        f"  (<= 10 ms; worst round {paced_on['p99_max']:.2f} ms)"
    )
    paced_base = r[("bare ASGI (uvicorn)", "200/s")]
    print(f"  same, bare ASGI baseline                  {paced_base['p99']:5.2f} ms")
    print(f"  BentoML / bare ASGI, p50 at c=1           {off1['p50'] / base1['p50']:5.2f}x")
    print(f"  BentoML / bare ASGI, throughput at c=16   {off16['rps'] / base16['rps']:5.2f}x")
    print(
        f"  server CPU per request at c=16: BentoML {off16['cpu_ms']:.2f} ms, bare ASGI"
        f" {base16['cpu_ms']:.2f} ms -> BentoML's own {own:.2f} ms"
        f" ({own / off16['cpu_ms']:.0%} of each request)"
    )
    print(f"  scoring core inside the server (mean)     {core_ms:.3f} ms")
    print(f"  fraud_prediction_log_dropped_total        {dropped:.0f}")


def report_before_after(results, ref: str, inproc: dict[str, dict[str, float]]) -> None:
    before = {plan: results[(BEFORE, plan)] for plan in ("c=1", "c=16", "200/s")}
    after = {plan: results[("bentoml shadow on", plan)] for plan in ("c=1", "c=16", "200/s")}
    print(f"\nbefore ({ref}) / after (this tree), shadow on, medians over rounds")
    for plan in ("c=1", "c=16", "200/s"):
        b, a = before[plan], after[plan]
        print(
            f"  {plan:<6} p50 {b['p50']:6.2f} -> {a['p50']:6.2f} ms"
            f"  p99 {b['p99']:6.2f} -> {a['p99']:6.2f} ms (worst {b['p99_max']:.2f} ->"
            f" {a['p99_max']:.2f})  {b['rps']:5.0f} -> {a['rps']:5.0f} req/s"
            f"  CPU {b['cpu_ms']:.2f} -> {a['cpu_ms']:.2f} ms/req"
        )
    no_wal, wal = inproc["no WAL"], inproc["WAL"]
    print(
        f"  in process, core + log + shadow: p50 {no_wal['p50']:.3f} -> {wal['p50']:.3f} ms,"
        f" p99 {no_wal['p99']:.3f} -> {wal['p99']:.3f} ms (without -> with the WAL)"
    )


if __name__ == "__main__":
    main()
