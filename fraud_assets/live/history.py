"""The seeded history's outcomes still to come, delivered now: the chargebacks that would
arrive over the coming weeks for the payments `make run` seeded (the accelerated part of the
demo for the history). Without them, counting an unreported payment as legitimate at once
(the demo's label maturity of 0) would label the history's recent fraud legitimate.

The seeded world is regenerated from its parameters (`fraud_assets.bootstrap`'s seeding: the
days up to the last seeded day, drift starting the day after); the store's own decisions say
which payments were approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SEEDED_MODEL = "rule-v1"  # the transparent rule that scored the seeded history


def pending_history_outcomes(
    store: Any, window_days: int, seed: int = 0, fraud_rate: float | None = None
) -> list[dict]:
    """Label bodies (reported now) for the seeded payments of the last `window_days` days
    whose outcome would be reported later; [] when there is no seeded history."""
    import pandas as pd
    from sqlalchemy import func, select

    from fraud_core.simulation import DriftSchedule, WorldConfig, generate_labels, simulate_world
    from fraud_core.store.models import predictions as p

    with store.engine.connect() as conn:
        first, last, count = conn.execute(
            select(func.min(p.c.event_time), func.max(p.c.event_time), func.count()).where(
                p.c.model_version == SEEDED_MODEL
            )
        ).one()
        if not count:
            return []
        first_day, last_day = pd.Timestamp(first).date(), pd.Timestamp(last).date()
        days = (last_day - first_day).days + 1
        since = datetime.now(UTC) - timedelta(days=window_days)
        decided = pd.DataFrame(  # all of them: the label draws depend on every decision
            conn.execute(
                select(p.c.transaction_id, p.c.decision, p.c.event_time).where(
                    p.c.model_version == SEEDED_MODEL
                )
            ).all(),
            columns=["transaction_id", "decision", "event_time"],
        )
    config = WorldConfig.ending(
        last_day,
        days,
        tx_per_day=round(count / days),
        **({"fraud_rate": fraud_rate} if fraud_rate else {}),
        drift=DriftSchedule.case_study(last_day + timedelta(days=1)),
    )
    world = simulate_world(config, seed)
    tx = world.transactions.reset_index(drop=True)
    truth = world.oracle["is_fraud"].to_numpy()
    blocked = tx["transaction_id"].map(
        dict(zip(decided.transaction_id, decided.decision, strict=True))
    )
    now = datetime.now(UTC)
    recent = decided.loc[pd.to_datetime(decided["event_time"], utc=True) >= since, "transaction_id"]
    events = generate_labels(
        tx, truth, (blocked == "block").to_numpy(), as_of=now + timedelta(days=365), seed=seed
    )
    late = events[
        (pd.to_datetime(events["reported_at"], utc=True) > now)
        & events["transaction_id"].isin(recent)
    ]
    return [
        {
            "transaction_id": row.transaction_id,
            "label": row.label,
            "source": row.source,
            "reported_at": now.isoformat(),
            "note": "demo: reported ahead of time (accelerated)",
        }
        for row in late.itertuples()
    ]
