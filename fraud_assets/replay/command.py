"""`fraudops replay`: the incident reproduced (default), or lived through by the platform
(`--platform`: static vs platform vs oracle on the same world, report under
`var/reports/replay/`)."""

from __future__ import annotations

from pathlib import Path

import click

from fraud_core.simulation import incident


@click.command()
@click.option(
    "--platform",
    "through_platform",
    is_flag=True,
    help="Run the real platform through the six drift months beside the static "
    "model and an oracle (takes minutes), and write the report.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="With --platform: 800 payments a day instead of 5,000 (same timeline).",
)
@click.option(
    "--seed",
    "seeds",
    type=click.IntRange(0),
    multiple=True,
    default=(0,),
    show_default=True,
    help="Seed of the world (repeat for several).",
)
@click.option(
    "--tx-per-day",
    type=click.IntRange(500),
    default=None,
    help="Payments a day (default: 5,000; with --quick 800).",
)
@click.option(
    "--trees",
    type=click.IntRange(10),
    default=200,
    show_default=True,
    help="Without --platform: trees of the XGBoost recipe.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Without --platform: PNG of the monthly FPR.",
)
@click.option(
    "--db-url",
    default=None,
    help="With --platform: the replayed platform's feedback store (default: a SQLite "
    "file in its own folder). Its tables are emptied first.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, CI).")
@click.pass_context
def replay(
    ctx: click.Context,
    through_platform: bool,
    quick: bool,
    seeds: tuple[int, ...],
    tx_per_day: int | None,
    trees: int,
    plot: Path | None,
    db_url: str | None,
    no_progress: bool,
) -> None:
    """Reproduce the case study's incident; with --platform, replay it through the platform."""
    if not through_platform:
        if quick or db_url:
            raise click.UsageError("--quick and --db-url need --platform")
        ctx.invoke(
            incident.main, seeds=seeds, tx_per_day=tx_per_day or 5_000, trees=trees, plot=plot
        )
        return
    from fraud_assets.replay.run import describe, replay_platform
    from fraud_assets.replay.world import ReplaySize
    from fraud_core.settings import get_settings

    size = ReplaySize.quick() if quick else ReplaySize()
    if tx_per_day is not None:
        size = ReplaySize(tx_per_day=tx_per_day)
    from fraud_assets.bootstrap import BootstrapError
    from fraud_assets.replay.interrupts import ReplayInterrupted

    settings = get_settings()
    refused = []
    for seed in seeds:
        name = f"seed-{seed}" + ("-quick" if quick else "")
        try:
            summary = replay_platform(
                seed,
                size,
                (settings.var_dir / "replay" / name).resolve(),
                (settings.reports_dir / "replay" / name).resolve(),
                db_url=db_url,
                show_progress=not no_progress,
            )
        except BootstrapError as error:  # the platform refused to start: no arm to compare
            click.echo(f"seed {seed}: {error}", err=True)
            refused.append(seed)
            continue
        except ReplayInterrupted as stopped:
            click.echo(f"seed {seed}: {stopped}", err=True)
            ctx.exit(130)
        except KeyboardInterrupt:  # before the simulated hours: nothing worth keeping yet
            click.echo(
                f"seed {seed}: replay interrupted before its first simulated hour (seeding or "
                "training the first champion): no report",
                err=True,
            )
            ctx.exit(130)
        click.echo("\n".join(describe(summary)))
    if refused:
        raise click.ClickException(
            f"no first champion for seed(s) {refused}: the retraining job on the pre-drift "
            f"history promoted no model (reasons above; at {size.tx_per_day:,} payments a day "
            "the gate's holdout holds few frauds, more a day (--tx-per-day) give it evidence)"
        )
