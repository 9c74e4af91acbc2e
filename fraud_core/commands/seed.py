"""`fraudops seed`: load a simulated history into the feedback store (predictions + labels)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

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
    rule), and store them as champion predictions with the label events reported by now."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from fraud_core.features import featurize_frame
    from fraud_core.settings import get_settings
    from fraud_core.simulation import (
        amount_usd,
        decide,
        generate_labels,
        prediction_rows,
        simulate_world,
    )
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

    with click.progressbar(
        length=5, label=f"seed {shown}", item_show_func=lambda s: s or ""
    ) as bar:
        bar.update(0, "simulate")
        world = simulate_world(config, seed)
        tx = world.transactions
        bar.update(1, "score")
        features = featurize_frame(tx)
        decisions = decide(
            score.score(features), threshold, amount_usd=amount_usd(tx),
            exploration=exploration, max_explore_usd=max_explore_usd, seed=seed,
        )  # fmt: skip
        rows = prediction_rows(
            tx, features, decisions, model_version=score.model_version,
            hash_key=settings.hash_key, policy_version=f"static-{threshold:g}",
        )  # fmt: skip
        labels = generate_labels(tx, world.is_fraud, decisions.blocked, as_of=cutoff, seed=seed)
        try:
            bar.update(1, "store predictions")
            with FeedbackStore(url) as store:
                inserted = store.insert_predictions(rows)
                bar.update(1, "store labels")
                result = store.upsert_labels(labels.to_dict("records"))
        except SQLAlchemyError as exc:
            reason = str(exc.orig if getattr(exc, "orig", None) else exc).strip().splitlines()[0]
            raise click.ClickException(f"feedback store {shown}: {reason}") from None
        bar.update(2, "done")

    sources = dict(sorted(labels["source"].value_counts().items()))
    click.echo(
        f"{len(rows):,} predictions {config.start} .. {config.end} ({inserted:,} new), scored "
        f"with {score.description}: {decisions.blocked.mean():.2%} blocked, "
        f"{int(decisions.explored.sum()):,} explored"
    )
    click.echo(
        f"{len(labels):,} label events reported by {cutoff:%Y-%m-%d %H:%M} UTC {sources}: "
        f"{result.inserted:,} new, {result.updated:,} updated, {len(result.rejected):,} "
        f"rejected; {shown} in {time.perf_counter() - started:.1f} s"
    )
