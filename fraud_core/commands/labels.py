"""`fraudops labels import FILE...`: verified outcomes from ticket exports into the store."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def labels() -> None:
    """Verified outcomes (disputes, chargebacks, ticket exports)."""


@labels.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--db-url",
    default=None,
    help="Feedback store URL (default: FRAUD_DB_URL, else sqlite:///var/fraud.db).",
)
def import_(files: tuple[Path, ...], db_url: str | None) -> None:
    """Load CSV or JSON-lines exports (columns transaction_id, label, source, reported_at,
    note). Idempotent; bad rows are listed with their line and reason, the good ones load.
    Exits 1 when any row was refused."""
    from fraud_core.label_files import import_label_file
    from fraud_core.settings import get_settings
    from fraud_core.store import FeedbackStore

    store = FeedbackStore(db_url or get_settings().db_url)
    refused = 0
    for path in files:
        result = import_label_file(path, store)
        click.echo(
            f"{path.name}: {result.rows} rows, {result.inserted} new, {result.updated} updated, "
            f"{len(result.bad)} refused"
        )
        for bad in result.bad:
            click.echo(f"  line {bad['line']}: {bad.get('transaction_id')}: {bad['reason']}")
        refused += len(result.bad)
    if refused:
        raise click.ClickException(f"{refused} label rows refused (listed above)")
