"""`fraudops promote VERSION`: make a version champion by hand (audited)."""

from __future__ import annotations

import click

from fraud_core.commands.release_options import open_registry, operator, registry_options


@click.command()
@click.argument("version")
@click.option("--reason", default="promoted by hand", show_default=True, help="For the audit log.")
@registry_options
def promote(version: str, reason: str, db_url: str | None, tracking_uri: str | None) -> None:
    """Make VERSION the champion (the old one becomes `previous`); rejected versions are
    refused. Promoting the current champion changes nothing."""
    from fraud_core import release_ops

    if not version.isdigit():
        raise click.BadParameter(f"not a version number: {version!r}", param_hint="VERSION")
    with open_registry(db_url, tracking_uri) as registry:
        done = release_ops.promote(registry, version, actor=operator(), reason=reason)
        aliases = registry.aliases()
    if done is None:
        click.echo(f"version {version} is already the champion: nothing to do")
        return
    click.echo(f"champion {aliases['champion']} (previous {aliases.get('previous', '-')})")
