"""`fraudops demo --loop`: the whole loop, live, against a running `make run`.

1. plays a burst of drifted payments through the scorer and reports their outcomes (disputes
   for blocked legitimate customers, chargebacks for approved fraud) at once;
2. writes the demo profile (short intervals, printed) and reloads the code location, so the
   running daemon uses it;
3. keeps the traffic and the outcomes flowing while it prints each platform event as it
   happens (runs with their trigger and reason, drift verdicts, the gate, alias moves, canary
   stages) until the candidate is promoted or rolled back, or `--timeout`;
4. removes the profile and reloads again: the platform is back on production settings.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from fraud_assets.live.profile import demo_profile, reload_location, remove_profile, write_profile

PRODUCTION = {
    "FRAUD_SENSOR_INTERVAL_SECONDS": "300 s retraining / 60 s release sensors",
    "FRAUD_MONITORING_CRON": "0 */6 * * *",
    "FRAUD_RETRAIN_MIN_LABELS": "1000",
    "FRAUD_TRAINING_DAYS": "90",
    "FRAUD_LABEL_MATURITY_DAYS": "45",
    "FRAUD_SHADOW_MIN_ROWS": "computed (22,585)",
    "FRAUD_SHADOW_MIN_SECONDS": "259200 (72 h)",
    "FRAUD_STAGE_MIN_SAMPLES": "computed per stage",
    "FRAUD_STAGE_MIN_SECONDS": "3600",
    "FRAUD_SCORER_URL": "set by make run",
}


def run_loop(options: dict) -> None:
    import dagster as dg
    import httpx

    from fraud_assets.live.history import pending_history_outcomes
    from fraud_assets.live.profile import TRAINING_DAYS
    from fraud_assets.live.traffic import Player
    from fraud_assets.live.watch import Watch
    from fraud_assets.retraining_state import retraining_in_flight
    from fraud_core.commands.demo import demo_traffic
    from fraud_core.settings import get_settings
    from fraud_core.store import FeedbackStore

    started, t0 = datetime.now(UTC), time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # clean up (profile, reload) on SIGTERM too

    def say(line: str) -> None:
        click.echo(f"[{time.monotonic() - t0:6.1f}s] {line}")

    url, api_key = options["url"].rstrip("/"), options["api_key"]
    if not api_key:
        raise click.ClickException(
            "--loop reports outcomes through POST /feedback: set FRAUD_API_KEY"
        )
    client = httpx.Client(base_url=url, timeout=30.0)
    _check(client, "/readyz", f"scorer at {url}")
    _check(httpx.Client(timeout=10.0), options["dagster_url"] + "/server_info", "Dagster webserver")
    os.environ.setdefault("DAGSTER_HOME", str(Path("dagster_home").resolve()))
    profile = demo_profile(url, options["min_labels"])
    click.echo("demo settings (this run only; production values in brackets):")
    for name, value in profile.items():
        click.echo(f"  {name}={value}  [{PRODUCTION[name]}]")
    store = FeedbackStore(get_settings().db_url)
    history = pending_history_outcomes(store, TRAINING_DAYS)
    rows, truth = demo_traffic("drifted", options["count"], options["seed"])
    player = Player(client, rows.astype(object).to_dict(orient="records"), truth, api_key)
    with click.progressbar(length=options["burst"], label="drifted payments") as bar:
        while player.played < options["burst"]:
            bar.update(player.play(min(1000, options["burst"] - player.played)))
    player.pending_labels += history  # the history's late chargebacks, delivered now
    sent = player.report_outcomes()
    say(f"burst scored: {player.tally.legit_blocked}/{player.tally.legit} legitimate customers "
        f"blocked; {sent} outcomes reported ({len(history)} of them the seeded history's late "
        f"chargebacks and disputes), {player.labels_posted} accepted")  # fmt: skip
    try:
        path = write_profile(profile)
        say(f"profile {path} written; reloading the code location ...")
        say(f"code location reloaded in {reload_location(options['dagster_url']):.0f} s")
        with dg.DagsterInstance.get() as instance:
            watch = Watch(instance, store, started, say)
            busy = retraining_in_flight(instance)
            if busy:
                say(f"retraining run {busy[:8]} (launched before the demo) is in flight: "
                    "the sensors wait for it")  # fmt: skip
            try:
                _follow(watch, player, client, options, say, t0)
            except KeyboardInterrupt:
                say("interrupted")
    finally:
        remove_profile()
        say("demo profile removed; reloading the code location (production settings) ...")
        try:
            reload_location(options["dagster_url"])
        except Exception as error:  # noqa: BLE001 (the summary still matters)
            say(f"reload failed ({error}): reload `fraud_assets` in the UI")
        store.close()
    _summary(watch, t0)


def _follow(watch, player, client, options, say, t0) -> None:
    """Trickle traffic at `rate`/s, outcomes every 5 s, events every 2 s, status every 30 s."""
    last_labels = last_status = 0.0
    deadline = t0 + options["timeout"]
    while not watch.outcome.finished and time.monotonic() < deadline:
        tick = time.monotonic()
        if player.played >= len(player.rows):
            player.played = 0
            player.run += "r"
        player.play(int(options["rate"]), batch=int(options["rate"]))
        if tick - last_labels >= 5:
            player.report_outcomes()
            last_labels = tick
        watch.poll()
        if tick - last_status >= 30:
            model = client.get("/model").json()
            say(
                f"status: champion v{model['champion']}, challenger v{model['challenger'] or '-'}, "
                f"canary v{model['canary'] or '-'} at {model['canary_percent']}%; "
                f"{player.played:,} payments played, {player.labels_posted:,} outcomes in"
            )
            last_status = tick
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    watch.poll()


def _summary(watch, t0) -> None:
    outcome = watch.outcome
    click.echo(f"\nthe loop in {time.monotonic() - t0:.0f} s:")
    for name, value in (
        ("drift flagged", outcome.drift),
        ("retraining launched by", outcome.retraining),
        ("validation gate", outcome.gate),
        ("shadow", outcome.shadow),
        ("canary stages", " | ".join(outcome.stages) or None),
        ("promoted", outcome.promoted),
        ("rolled back", outcome.rolled_back),
    ):
        click.echo(f"  {name:<23} {value[:300] if value else '-'}")
    if not outcome.finished:
        raise click.ClickException("no promotion or rollback before --timeout")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _check(client, path: str, what: str) -> None:
    import httpx

    try:
        status = client.get(path).status_code
    except httpx.HTTPError as error:
        raise click.ClickException(f"{what} is unreachable: {error}") from None
    if status != 200:
        raise click.ClickException(f"{what} is not ready ({path} answered {status})")
