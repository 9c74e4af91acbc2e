"""The feedback store's queries behind a release's figures (`fraud_core.release_data`): stage
decision counts, canary labels, shadowed rows and their pairs with the champion's. Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, exists, func, select

from fraud_core.store.models import label_events, predictions, shadow_predictions, to_utc

if TYPE_CHECKING:
    import pandas as pd

    from fraud_core.store import FeedbackStore


def decision_counts(
    store: FeedbackStore,
    since: datetime,
    canary_version: str,
    champion_since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, tuple[int, int]]:
    """Variant -> (predictions, blocks): the canary's (its version only: a previous canary's
    rows never count for the next) since `since`, the champion's since `champion_since`
    (default `since`; earlier at 100 %, when the champion serves nobody); both up to `until`."""
    p = predictions.c
    blocks = func.sum(case((p.decision == "block", 1), else_=0))
    canary = (p.variant == "canary") & (p.model_version == canary_version)
    canary &= p.scored_at >= to_utc(since)
    champion = (p.variant == "champion") & (p.scored_at >= to_utc(champion_since or since))
    window = canary | champion
    if until is not None:
        window &= p.scored_at <= to_utc(until)
    stmt = select(p.variant, func.count(), blocks).where(window).group_by(p.variant)
    with store.engine.connect() as conn:
        found = {variant: (int(n), int(b or 0)) for variant, n, b in conn.execute(stmt)}
    return {v: found.get(v, (0, 0)) for v in ("champion", "canary")}


def nth_canary_time(store: FeedbackStore, version: str, since: datetime, n: int) -> datetime:
    """When the canary `version` served its `n`-th prediction since `since`."""
    p = predictions.c
    nth = (
        select(p.scored_at)
        .where(p.variant == "canary", p.model_version == version, p.scored_at >= to_utc(since))
        .order_by(p.scored_at, p.id)
        .offset(n - 1)
        .limit(1)
    )
    with store.engine.connect() as conn:
        return conn.execute(nth).scalar_one()


def canary_label_counts(store: FeedbackStore, since: datetime, version: str) -> tuple[int, int]:
    """The canary `version`'s predictions since `since` with no fraud report: (blocked and
    labelled legit, approved)."""
    p, le = predictions.c, label_events.c

    def reported(label: str):  # per canary row, through label_events' transaction_id index
        return exists().where(le.transaction_id == p.transaction_id, le.label == label)

    stmt = (
        select(
            func.sum(case((and_(p.decision == "block", reported("legit")), 1), else_=0)),
            func.sum(case((p.decision != "block", 1), else_=0)),
        )
        .select_from(predictions)
        .where(
            p.scored_at >= to_utc(since),
            p.variant == "canary",
            p.model_version == version,
            ~reported("fraud"),
        )
    )
    with store.engine.connect() as conn:
        blocked, approved = conn.execute(stmt).one()
    return int(blocked or 0), int(approved or 0)


def shadow_frame(store: FeedbackStore, version: str, since: datetime) -> pd.DataFrame:
    """The champion's served predictions paired with the challenger's shadow prediction of the
    same transaction since `since`, one row each, with `label` ('fraud', 'legit' or None) from
    the label events."""
    from fraud_core.store.frames import read_frame

    p, s, le = predictions.c, shadow_predictions.c, label_events.c
    labels = (
        select(
            le.transaction_id,
            case(
                (func.sum(case((le.label == "fraud", 1), else_=0)) > 0, "fraud"), else_="legit"
            ).label("label"),
        )
        .group_by(le.transaction_id)
        .subquery()
    )
    stmt = (
        select(
            p.transaction_id,
            p.segment,
            p.amount_usd,
            p.score,
            p.decision,
            p.explored,
            p.model_version,
            s.score.label("shadow_score"),
            s.decision.label("shadow_decision"),
            labels.c.label,
        )  # fmt: skip
        .select_from(
            shadow_predictions.join(predictions, p.transaction_id == s.transaction_id).outerjoin(
                labels, labels.c.transaction_id == p.transaction_id
            )
        )
        .where(and_(s.model_version == version, s.scored_at >= to_utc(since)))
        .where(p.variant == "champion")
        .order_by(p.id)
    )
    with store.engine.connect() as conn:
        return read_frame(conn, stmt)


def shadow_count(store: FeedbackStore, version: str, since: datetime) -> int:
    """Shadow predictions of `version` scored since `since`."""
    s = shadow_predictions.c
    stmt = select(func.count()).where(s.model_version == version, s.scored_at >= to_utc(since))
    with store.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def paired_counts(store: FeedbackStore, version: str, since: datetime) -> dict[str, int]:
    """The challenger's shadow decisions against the champion model's on the same transactions
    since `since`: rows, blocks of each, newly blocked and newly approved (the champion's
    decision before exploration, like the shadow's)."""
    p, s = predictions.c, shadow_predictions.c
    champion = (p.decision == "block") | (p.explored == True)  # noqa: E712 - SQL expression
    challenger = s.decision == "block"

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    stmt = (
        select(
            func.count(),
            count(champion),
            count(challenger),
            count(~champion & challenger),
            count(champion & ~challenger),
        )  # fmt: skip
        .select_from(shadow_predictions.join(predictions, p.transaction_id == s.transaction_id))
        .where(s.model_version == version, s.scored_at >= to_utc(since), p.variant == "champion")
    )
    with store.engine.connect() as conn:
        row = conn.execute(stmt).one()
    keys = ("rows", "champion_blocks", "challenger_blocks", "newly_blocked", "newly_approved")
    return dict(zip(keys, (int(v or 0) for v in row), strict=True))
