"""`fraudops status`: who serves, what is being released, latest FPR and drift."""

from __future__ import annotations

import click

from fraud_core.commands.release_options import open_registry, registry_options


@click.command()
@registry_options
def status(db_url: str | None, tracking_uri: str | None) -> None:
    """Champion, canary and shadow versions, canary share and release stage, and the latest
    FPR and drift figures of monitoring."""
    from fraud_core.registry import CANARY, CHALLENGER, CHAMPION, PREVIOUS
    from fraud_core.release import STAGE_STARTED_TAG
    from fraud_core.release_data import describe_release
    from fraud_core.release_ops import candidate, current_stage

    with open_registry(db_url, tracking_uri) as registry:
        aliases = registry.aliases()
        released = candidate(registry)
        stage = current_stage(registry)
        since = registry.get_version(released).tags.get(STAGE_STARTED_TAG) if released else None
        metrics = registry.store.latest_metrics()
        click.echo(f"release   {describe_release(registry)}")
    for name, alias in (("champion", CHAMPION), ("canary", CANARY), ("shadow", CHALLENGER),
                        ("previous", PREVIOUS)):  # fmt: skip
        click.echo(f"{name:<9} {aliases.get(alias, '-')}")
    percent = registry.canary_percent() if CANARY in aliases else 0
    click.echo(f"traffic   {percent}% to the canary")
    click.echo(f"stage     {stage}" + (f" (since {since})" if since else ""))
    for label, metric in (("FPR", "fpr"), ("FPR est.", "fpr_estimate"),
                          ("drift", "drifted_share")):  # fmt: skip
        click.echo(f"{label:<9} {_latest(metrics, metric)}")


def _latest(metrics, metric: str) -> str:
    """The champion's newest whole-traffic value of `metric`, with its window end."""
    rows = metrics[metrics["metric"] == metric] if len(metrics) else metrics
    if len(rows):
        rows = rows[rows["segment"].isna() | (rows["segment"] == "all")]
        rows = rows[rows["variant"].isna() | (rows["variant"] == "champion")]
    if not len(rows):
        return "no data"
    row = rows.sort_values("computed_at").iloc[-1]
    version = f"v{row['model_version']}, " if row["model_version"] else ""
    return f"{row['value']:.4f} ({version}window to {row['window_end']:%Y-%m-%d %H:%M})"
