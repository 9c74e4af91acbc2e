"""What the release commands share: the store/registry options and opening both."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fraud_core.registry import ModelRegistry


def registry_options(command: Callable) -> Callable:
    """--db-url and --tracking-uri (defaults: FRAUD_DB_URL, MLFLOW_TRACKING_URI)."""
    command = click.option(
        "--tracking-uri", default=None, help="MLflow registry (default: MLFLOW_TRACKING_URI)."
    )(command)
    return click.option(
        "--db-url", default=None, help="Feedback store URL, for the audit log (FRAUD_DB_URL)."
    )(command)


def operator() -> str:
    """The audit-log actor of a command run by hand."""
    return f"fraudops:{getpass.getuser()}"


@contextmanager
def open_registry(db_url: str | None, tracking_uri: str | None) -> Iterator[ModelRegistry]:
    """The registry with its audit store; any failure to reach them is a one-line ClickException."""
    from fraud_core.registry import ModelRegistry, RegistryError
    from fraud_core.settings import get_settings
    from fraud_core.store import FeedbackStore

    settings = get_settings()
    try:
        store = FeedbackStore(db_url or settings.db_url)
    except Exception as exc:  # noqa: BLE001 - any reason the store is unusable, on one line
        raise click.ClickException(f"feedback store: {first_line(exc)}") from None
    try:
        yield ModelRegistry(tracking_uri or settings.mlflow_tracking_uri, store=store)
    except RegistryError as exc:
        raise click.ClickException(first_line(exc)) from None
    finally:
        store.close()


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
