"""`fraudops seed`: load a simulated history into the feedback store (predictions + labels)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from fraud_core.commands.history_options import (
    labels_as_of,
    scorer,
    scoring_options,
    world_config,
    world_options,
)


@click.command()
@world_options(days=30, tx_per_day=3_000)
@scoring_options
@click.option(
    "--db-url",
    default=None,
    help="Feedback store URL (default: FRAUD_DB_URL, else sqlite:///var/fraud.db).",
)
def seed(
    days: int,
    seed: int,
    tx_per_day: int,
    end: datetime | None,
    drift_start: datetime | None,
    fraud_rate: float,
    model: Path | None,
    threshold: float,
    exploration: float,
    max_explore_usd: float,
    db_url: str | None,
) -> None:
    """Simulate DAYS of payments ending yesterday, score them (with --model, or the transparent
    rule), and store them as champion predictions with the label events reported by now.

    Streams a day at a time (simulate, score, bulk-load, labels), storing one day while the
    next is simulated: memory holds two days."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from fraud_core.settings import get_settings
    from fraud_core.store import FeedbackStore

    started = time.perf_counter()
    settings = get_settings()
    url = db_url or settings.db_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise click.BadParameter(f"not a database URL: {url!r}", param_hint="--db-url") from None
    config = world_config(days, tx_per_day, end, drift_start, fraud_rate)
    cutoff = labels_as_of(None)
    score = scorer(model)
    decide_options = dict(
        threshold=threshold, exploration=exploration, max_explore_usd=max_explore_usd
    )
    try:
        with (
            FeedbackStore(url) as store,
            click.progressbar(length=config.days, label=f"seed {shown}") as bar,
        ):
            days = simulated_days(config, seed, score, decide_options, settings.hash_key)
            totals = load_days(store, days, cutoff, seed, progress=bar.update)
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).strip().splitlines()[0]
        raise click.ClickException(f"feedback store {shown}: {reason}") from None

    sources = {
        k.removeprefix("source:"): v for k, v in sorted(totals.items()) if k.startswith("source:")
    }
    click.echo(
        f"{totals['rows']:,} predictions {config.start} .. {config.end} ({totals['inserted']:,} "
        f"new), scored with {score.description}: {totals['blocked'] / max(totals['rows'], 1):.2%} "
        f"blocked, {totals['explored']:,} explored"
    )
    click.echo(
        f"{totals['labels']:,} label events reported by {cutoff:%Y-%m-%d %H:%M} UTC {sources}: "
        f"{totals['labels_inserted']:,} new, {totals['labels_updated']:,} updated, "
        f"{totals['labels_rejected']:,} rejected; {shown} in {time.perf_counter() - started:.1f} s"
    )


@dataclass(frozen=True)
class SeedDay:
    """One simulated day, scored: its world, feature matrix, decisions and log rows."""

    index: int
    world: Any
    features: Any
    decisions: Any
    rows: Any


def simulated_days(
    config: Any, seed: int, score: Any, decide_options: dict, hash_key: str
) -> Iterator[SeedDay]:
    """Each day of the world (`simulate_days`), scored and decided, with its log rows."""
    import numpy as np

    from fraud_core.features import featurize_frame
    from fraud_core.simulation import amount_usd, decide, prediction_frame, simulate_days

    for index, world in enumerate(simulate_days(config, seed)):
        tx = world.transactions
        features = featurize_frame(tx)
        day_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        options = dict(decide_options)
        threshold = options.pop("threshold")
        decisions = decide(
            score.score(features), threshold, amount_usd=amount_usd(tx), seed=day_seed, **options
        )
        rows = prediction_frame(
            tx, decisions, model_version=score.model_version, hash_key=hash_key,
            policy_version=f"static-{threshold:g}",
        )  # fmt: skip
        yield SeedDay(index, world, features, decisions, rows)


def load_days(
    store: Any,
    days: Iterator[SeedDay],
    cutoff: datetime,
    seed: int,
    progress: Callable[[int], Any] = lambda n: None,
    pipelined: bool = True,
) -> Counter:
    """`store_day` each of `days`; the summed counts. Pipelined, a day is stored on a second
    thread while the next one is simulated and scored: the store's COPY mostly waits on the
    database server (another core), and the simulation runs meanwhile."""
    totals: Counter = Counter()
    if not pipelined:
        for day in days:
            totals.update(store_day(store, day, cutoff, seed))
            progress(1)
        return totals
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-store") as pool:
        storing = None
        for day in days:  # the generator simulates this day while the previous one is stored
            if storing is not None:
                totals.update(storing.result())
                progress(1)
            storing = pool.submit(store_day, store, day, cutoff, seed)
        if storing is not None:
            totals.update(storing.result())
            progress(1)
    return totals


def store_day(store: Any, day: SeedDay, cutoff: datetime, seed: int) -> Counter:
    """Bulk-load one day's predictions, then its label events reported by `cutoff`; counts."""
    import numpy as np

    from fraud_core.features import FEATURE_NAMES
    from fraud_core.simulation import generate_labels

    tx, blocked = day.world.transactions, day.decisions.blocked
    day_seed = int(np.random.SeedSequence([seed, day.index, 1]).generate_state(1)[0])
    labels = generate_labels(tx, day.world.is_fraud, blocked, as_of=cutoff, seed=day_seed)
    inserted = store.insert_prediction_matrix(day.rows, day.features, FEATURE_NAMES)  # re-runs
    result = store.upsert_labels(labels.to_dict("records"))
    counts = Counter(
        rows=len(day.rows),
        inserted=inserted,
        blocked=int(blocked.sum()),
        explored=int(day.decisions.explored.sum()),
        labels=len(labels),
        labels_inserted=result.inserted,
        labels_updated=result.updated,
        labels_rejected=len(result.rejected),
    )
    counts.update({f"source:{k}": int(v) for k, v in labels["source"].value_counts().items()})
    return counts
