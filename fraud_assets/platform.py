"""`make run`: bootstrap the platform, then run Dagster (UI + daemon) and the scorer together.

    python -m fraud_assets.platform

First start: seeds a simulated pre-drift history into an empty store and trains and promotes
the first champion through the retraining job (`fraudops bootstrap`). Then starts
`dagster dev` (port 3000, sensors and schedules running) and `bentoml serve` (port 3001),
prints where each is, and on Ctrl-C (or SIGTERM) stops both, each with its whole process group.
If either exits on its own, the other is stopped too and the exit code is non-zero.
Ports: `FRAUD_DAGSTER_PORT` (3000), `FRAUD_SCORER_PORT` (3001). Their output goes to
`$FRAUD_VAR_DIR/logs/` (dagster.log, scorer.log; bootstrap.log for the first start).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from fraud_core.settings import get_settings

HOST = "127.0.0.1"
SCORER_TARGET = "fraud_serving.service:FraudScorer"
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


@dataclass
class Service:
    name: str
    command: list[str]
    ready_url: str
    show: str
    process: subprocess.Popen | None = None
    log: Path | None = None

    def start(self, env: dict[str, str]) -> None:
        """Start in its own process group, its output appended to `log`."""
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            self.command, env=env, start_new_session=True, stdout=out, stderr=out
        )
        if out is not None:
            out.close()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after STOP_TIMEOUT_S."""
        if self.process is None or self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        # poll() reaps the leader: unreaped, its zombie keeps the group alive to the deadline
        while time.monotonic() < deadline and (
            self.process.poll() is None or _group_alive(group)  # children too
        ):
            time.sleep(0.2)
        if _group_alive(group):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()


def _group_alive(group: int) -> bool:
    """Whether a process of `group` still runs. A zombie does not: a child that died after its
    parent is reparented to PID 1, and an init that does not reap orphans (some container and
    VM inits) leaves it in the group for good. Without /proc (macOS), any member counts."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        state, _, pgrp = text[text.rindex(")") + 2 :].split(" ", 3)[:3]
        if int(pgrp) == group and state != "Z":
            return True
    return False


def platform_env() -> dict[str, str]:
    """The environment both services run with: DAGSTER_HOME absolute, telemetry off."""
    settings = get_settings()
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(settings.dagster_home.resolve())
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    env.setdefault("BENTOML_HOME", str((settings.var_dir / "bentoml").resolve()))
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("FRAUD_SCORER_URL", f"http://{HOST}:{settings.scorer_port}")  # canary health
    env.setdefault("PYTHONWARNINGS", "ignore")
    # the local platform explores like the replay's recommended settings: without logged
    # approvals of would-block payments, a retrained model can neither learn nor be judged on
    # the customers the champion blocks (deploy/ and the scorer's own default: off)
    env.setdefault("FRAUD_EXPLORATION_RATE", "0.05")
    env.setdefault("FRAUD_EXPLORATION_MAX_AMOUNT_USD", "1000")
    return env


def services() -> list[Service]:
    from fraud_assets.quiet import log_dir

    python, settings = sys.executable, get_settings()
    dagster, scorer = settings.dagster_port, settings.scorer_port
    running = [
        Service(
            "Dagster",
            [python, *f"-m dagster dev -w workspace.yaml -h {HOST} -p {dagster}".split()],
            f"http://{HOST}:{dagster}/server_info",
            f"Dagster UI      http://{HOST}:{dagster}  (daemon: sensors and schedules on)",
        ),
        Service(
            "scorer",
            [
                python,
                *f"-m bentoml serve {SCORER_TARGET} --host {HOST} --port {scorer}".split(),
            ],
            f"http://{HOST}:{scorer}/readyz",
            f"Scorer          http://{HOST}:{scorer}  (POST /score, /metrics, /docs)",
        ),
    ]
    for service in running:
        service.log = log_dir() / f"{service.name.lower()}.log"
    return running


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(running: list[Service], stopping: Callable[[], bool]) -> None:
    pending = list(running)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while pending and time.monotonic() < deadline and not stopping():
        for service in list(pending):
            if service.exited() is not None:
                raise RuntimeError(f"{service.name} exited with code {service.exited()}")
            if _ready(service.ready_url):
                print(f"  ready: {service.show}", flush=True)
                pending.remove(service)
        time.sleep(1.0)
    if pending and not stopping():
        raise RuntimeError(f"not ready after {READY_TIMEOUT_S:.0f} s: {pending[0].name}")


def run() -> int:
    import warnings

    warnings.simplefilter("ignore")  # library warnings belong in the logs, not on screen
    env = platform_env()
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "DO_NOT_TRACK")})
    from fraud_assets.bootstrap import BootstrapError, bootstrap

    try:
        bootstrap(echo=lambda line: print(line, flush=True))
    except BootstrapError as err:
        print(f"bootstrap failed: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("interrupted during bootstrap (run it again: each step is idempotent)", flush=True)
        return 130
    running = services()
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for service in running:
            service.start(env)
        logs = ", ".join(str(s.log) for s in running)
        print(f"starting Dagster and the scorer (their logs: {logs}) ...", flush=True)
        wait_ready(running, lambda: stopping)
        if not stopping:
            print("platform up; Ctrl-C stops both", flush=True)
        while not stopping:
            dead = next((s for s in running if s.exited() is not None), None)
            if dead is not None:
                print(f"{dead.name} exited with code {dead.exited()}; stopping", flush=True)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as err:
        print(f"platform failed to start: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping Dagster and the scorer ...", flush=True)
        for service in running:
            service.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(run())
