"""`fraudops rollback`: pull the candidate being released, optionally restore `previous`."""

from __future__ import annotations

import click

from fraud_core.commands.release_options import open_registry, operator, registry_options


@click.command()
@click.option(
    "--restore-previous",
    is_flag=True,
    help="Also give `champion` back to the `previous` version (and reject the demoted one).",
)
@click.option("--reason", default="rolled back by hand", show_default=True, help="For the audit.")
@registry_options
def rollback(
    restore_previous: bool, reason: str, db_url: str | None, tracking_uri: str | None
) -> None:
    """Canary share to 0, canary and challenger cleared, the candidate marked rejected (never
    re-released by accident). Idempotent: with nothing to roll back it says so and exits 0."""
    from fraud_core import release_ops

    with open_registry(db_url, tracking_uri) as registry:
        result = release_ops.rollback(
            registry, actor=operator(), reason=reason, restore_previous=restore_previous
        )
        champion = registry.aliases().get("champion", "-")
    if not result.changed:
        click.echo(f"nothing to roll back: champion {champion}, no canary or shadow")
        return
    if result.rolled_back:
        click.echo(f"rolled back version {result.rolled_back} (marked rejected)")
    if result.restored:
        click.echo(f"restored version {result.restored} as champion")
    click.echo(f"champion {champion}")
