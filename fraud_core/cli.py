"""`fraudops`: the operator's console.

Each command (or command group) lives in its own module under `fraud_core.commands` and is
registered by name in COMMANDS; a module is imported only when its command runs (or for
`--help`), so heavy libraries never slow the others down. To add a command, write the module
and add one line here.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "bootstrap": "fraud_core.commands.bootstrap:bootstrap",
    "simulate": "fraud_core.commands.simulate:simulate",
    "seed": "fraud_core.commands.seed:seed",
    "status": "fraud_core.commands.status:status",
    "promote": "fraud_core.commands.promote:promote",
    "rollback": "fraud_core.commands.rollback:rollback",
    "labels": "fraud_core.commands.labels:labels",
    "demo": "fraud_core.commands.demo:demo",
    "replay": "fraud_core.simulation.incident:main",
}
"""Command name -> "module:attribute" of its click command or group."""


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attribute = COMMANDS[cmd_name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fraud-mlops")
def main() -> None:
    """Operate the fraud-detection platform: simulate, seed, release, roll back."""
