"""`fraudops promote VERSION`: make a version champion by hand (audited)."""

from __future__ import annotations

import click

from fraud_core.commands.release_options import open_registry, operator, registry_options


@click.command()
@click.argument("version")
@click.option("--reason", default="promoted by hand", show_default=True, help="For the audit log.")
@click.option(
    "--expect-champion",
    metavar="N",
    default=None,
    help="Refuse (exit 1, audited) unless version N is still the champion when the move is made"
    " (e.g. the canary sensor promoted meanwhile).",
)
@registry_options
def promote(
    version: str,
    reason: str,
    expect_champion: str | None,
    db_url: str | None,
    tracking_uri: str | None,
) -> None:
    """Make VERSION the champion (the old one becomes `previous`); rejected versions are
    refused. Promoting the current champion changes nothing. Moves are serialized with the
    release sensors'; one planned on a registry that moved meanwhile is refused."""
    from fraud_core import release_ops

    if not version.isdigit():
        raise click.BadParameter(f"not a version number: {version!r}", param_hint="VERSION")
    if expect_champion is not None and not expect_champion.isdigit():
        raise click.BadParameter(
            f"not a version number: {expect_champion!r}", param_hint="--expect-champion"
        )
    with open_registry(db_url, tracking_uri) as registry:
        done = release_ops.promote(
            registry, version, actor=operator(), reason=reason, expect_champion=expect_champion
        )
        aliases = registry.aliases()
    if done is None:
        click.echo(f"version {version} is already the champion: nothing to do")
        return
    click.echo(f"champion {aliases['champion']} (previous {aliases.get('previous', '-')})")
