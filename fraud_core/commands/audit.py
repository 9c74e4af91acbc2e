"""`fraudops audit verify`: check the audit log's hash chain end to end."""

from __future__ import annotations

import click


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command()
@click.option("--db-url", default=None, help="Feedback store URL (default: FRAUD_DB_URL).")
def verify(db_url: str | None) -> None:
    """Recompute every entry's chain hash; exit 1 naming the first broken entry. Prints the
    head hash: keep it elsewhere to detect entries removed from the end later."""
    from fraud_core.commands.release_options import first_line
    from fraud_core.settings import get_settings
    from fraud_core.store import FeedbackStore

    try:
        with FeedbackStore(db_url or get_settings().db_url) as store:
            report = store.verify_audit_chain()
    except Exception as exc:  # noqa: BLE001 - any reason the store is unusable, on one line
        raise click.ClickException(f"feedback store: {first_line(exc)}") from None
    if report.intact:
        click.echo(f"audit log intact: {report.checked} entries, head {report.head}")
        return
    entry = report.broken_entry
    raise click.ClickException(
        f"audit log broken at entry {report.broken_id} ({entry['action']} by {entry['actor']}"
        f" at {entry['at']:%Y-%m-%d %H:%M:%S}): its hash does not match its content and the"
        f" entry before it (edited, or an entry before it removed or inserted);"
        f" {report.checked} entries before it are intact"
    )
