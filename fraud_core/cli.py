"""`fraudops`: the operator's console.

Each command (or command group) lives in its own module under `fraud_core.commands` and is
registered by name in COMMANDS; a module is imported only when its command runs (or for
`--help`), so heavy libraries never slow the others down. To add a command, write the module
and add one line here.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import click

COMMANDS = {
    "simulate": "fraud_core.commands.simulate:simulate",
    "seed": "fraud_core.commands.seed:seed",
    "status": "fraud_core.commands.status:status",
    "promote": "fraud_core.commands.promote:promote",
    "rollback": "fraud_core.commands.rollback:rollback",
    "labels": "fraud_core.commands.labels:labels",
    "demo": "fraud_core.commands.demo:demo",
    "audit": "fraud_core.commands.audit:audit",
}
"""Command name -> "module:attribute" of its click command or group."""


PLUGIN_GROUP = "fraudops.commands"
"""Entry-point group through which the packages above fraud_core (the Dagster code location's
`bootstrap`) add commands, so that fraud_core never imports them."""


def _targets() -> dict[str, str]:
    plugins = {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}
    return {**plugins, **COMMANDS}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_targets(), *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _targets().get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fraud-mlops")
def main() -> None:
    """Operate the fraud-detection platform: simulate, seed, release, roll back."""
    from fraud_core.settings import get_settings

    try:
        get_settings()  # a bad variable is named once, before any command starts
    except ValueError as error:
        raise click.ClickException(f"configuration: {error}") from None
