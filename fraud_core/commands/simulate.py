"""`fraudops simulate`: write a simulated, scored and labelled history as Parquet files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from fraud_core.commands.history_options import (
    MOMENT,
    labels_as_of,
    scorer,
    scoring_options,
    world_config,
    world_options,
)


@click.command()
@world_options(days=545, tx_per_day=5_000)
@scoring_options
@click.option(
    "--approve-all",
    is_flag=True,
    help="Label as if every payment had been approved (no scoring, no blocks).",
)
@click.option(
    "--as-of",
    type=MOMENT,
    default=None,
    help="Keep the label events reported by then (default: now, UTC).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for transactions, oracle, decisions and label_events (.parquet).",
)
def simulate(
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
    approve_all: bool,
    as_of: datetime | None,
    out: Path,
) -> None:
    """Simulate DAYS of payments ending yesterday, score them, label them as of now, and write
    transactions.parquet (what the platform sees), oracle.parquet (hidden truth),
    decisions.parquet and label_events.parquet to OUT."""  # fmt: skip
    from fraud_core.features import featurize_frame
    from fraud_core.simulation import (
        amount_usd,
        decide,
        generate_labels,
        history_tables,
        simulate_world,
    )
    from fraud_core.simulation.decisions import approve_all as approve_all_decisions

    config = world_config(days, tx_per_day, end, drift_start, fraud_rate)
    cutoff = labels_as_of(as_of)
    score = None if approve_all else scorer(model)
    out.mkdir(parents=True, exist_ok=True)
    files = ("transactions", "oracle", "decisions", "label_events")
    with click.progressbar(
        length=3 + len(files), label=f"{config.days} days x {config.tx_per_day:,} payments",
        item_show_func=lambda step: step or "",
    ) as bar:  # fmt: skip
        bar.update(0, "simulate")
        world = simulate_world(config, seed)
        bar.update(1, "score")
        tx = world.transactions
        if score is None:
            decisions = approve_all_decisions(len(tx))
        else:
            decisions = decide(
                score.score(featurize_frame(tx)), threshold, amount_usd=amount_usd(tx),
                exploration=exploration, max_explore_usd=max_explore_usd, seed=seed,
            )  # fmt: skip
        bar.update(1, "label")
        labels = generate_labels(tx, world.is_fraud, decisions.blocked, as_of=cutoff, seed=seed)
        tables = history_tables(world, decisions, labels)
        for name in files:
            bar.update(1, f"write {name}")
            tables[name].to_parquet(out / f"{name}.parquet", index=False)
        bar.update(1, "done")

    sources = dict(sorted(labels["source"].value_counts().items()))
    scored_with = score.description if score else "nothing (every payment approved)"
    click.echo(
        f"{len(tx):,} payments {config.start} .. {config.end} ({int(world.is_fraud.sum()):,} "
        f"fraud), scored with {scored_with}: {decisions.blocked.mean():.2%} blocked, "
        f"{int(decisions.explored.sum()):,} explored"
    )
    click.echo(f"{len(labels):,} label events by {cutoff:%Y-%m-%d %H:%M} UTC {sources}; in {out}")
