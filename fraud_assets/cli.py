"""`fraudops bootstrap`: a working platform from an empty one (idempotent).

Registered through the `fraudops.commands` entry point (pyproject), so fraud_core stays free
of Dagster."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--days",
    type=click.IntRange(60, 3650),
    default=150,
    show_default=True,
    help="Days of simulated pre-drift history to seed into an empty store.",
)
@click.option(
    "--tx-per-day",
    type=click.IntRange(100, 100_000),
    default=3000,
    show_default=True,
    help="Simulated payments per day.",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Random seed of the simulated history.",
)
def bootstrap(days: int, tx_per_day: int, seed: int) -> None:
    """Seed a simulated pre-drift history into an empty store, then train and promote the
    first champion through the Dagster retraining job (gate included). Does nothing that is
    already done: a seeded store is kept, an existing champion stays."""
    from fraud_assets.bootstrap import BootstrapError
    from fraud_assets.bootstrap import bootstrap as run_bootstrap

    try:
        run_bootstrap(days=days, tx_per_day=tx_per_day, seed=seed, echo=click.echo)
    except BootstrapError as err:
        raise click.ClickException(str(err)) from None
