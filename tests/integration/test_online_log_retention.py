"""The online log by day: partitions (PostgreSQL), keys that outlive a dropped day, retention
of exported days only, and reads of a dropped day from the lake; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from fraud_core.lake import Lake
from fraud_core.store import FeedbackStore
from fraud_core.store import partitions as parts
from fraud_core.store.retention import retire_exported_days
from tests.fixtures.prediction_log import END, synthetic_log

DAYS = [f"{END - timedelta(days=d):%Y-%m-%d}" for d in range(5, 0, -1)]  # oldest first
NOW = END + timedelta(hours=1)
AS_OF = END + timedelta(days=200)  # every label event reported by then
DAY = timedelta(days=1)


@pytest.fixture
def logged(store: FeedbackStore) -> FeedbackStore:
    """Five days of 60 predictions, with their label events."""
    rows, labels = synthetic_log(days=5, per_day=60)
    assert store.insert_predictions(rows) == 300
    store.upsert_labels(labels)
    return store


def _rows_where(store: FeedbackStore, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_days_get_partitions_and_labels_join_across_them(logged: FeedbackStore) -> None:
    counts = logged.day_counts(END - timedelta(days=5), END)
    assert sorted(counts) == DAYS and sum(n for n, _, _ in counts.values()) == 300
    if logged.engine.dialect.name == "postgresql":
        with logged.engine.connect() as conn:
            days = {f"{d:%Y-%m-%d}" for d in parts.existing_days(conn)}
        assert set(DAYS) <= days
        assert _rows_where(logged, parts.DEFAULT) == 0
        for day in DAYS:
            name = parts.partition_name(pd.Timestamp(day).date())
            assert _rows_where(logged, name) == counts[day][0]
    frame = logged.training_data(days=5, end=END, as_of=AS_OF)
    labels = logged.deciding_labels(END - timedelta(days=5), END, AS_OF)
    assert len(frame) == 300 and frame["label"].notna().sum() == len(labels) > 0
    by_id = frame.set_index("id")["label"]
    assert (by_id.loc[labels["id"]].to_numpy() == labels["label"].to_numpy()).all()
    rejected = logged.upsert_labels(
        [{"transaction_id": "nope", "label": "fraud", "source": "dispute", "reported_at": NOW}]
    ).rejected
    assert [r.reason for r in rejected] == ["unknown transaction_id"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_rows_of_a_day_without_partition_wait_in_the_default_then_move(
    store: FeedbackStore,
) -> None:
    rows = synthetic_log(days=1, per_day=20, end=END + timedelta(days=400))[0]
    day = rows[0]["event_time"].date()
    with store.engine.begin() as conn:  # as a writer that never ensured the day's partition
        conn.exec_driver_sql(
            f"DROP TABLE IF EXISTS {parts.partition_name(day)}"
        )  # a previous test's
    store._partitioned.add(day)  # this store believes the partition exists
    assert store.insert_predictions(rows) == 20
    assert _rows_where(store, parts.DEFAULT) == 20
    assert store.ensure_partitions([day]) == [day]
    assert _rows_where(store, parts.DEFAULT) == 0
    assert _rows_where(store, parts.partition_name(day)) == 20
    assert store.count_predictions() == 20


def test_retention_drops_only_old_days_the_lake_holds_as_the_store_does(
    logged: FeedbackStore, tmp_path
) -> None:
    reference = Lake(str(tmp_path / "reference"), now=lambda: NOW)
    before = reference.frame(logged, END - timedelta(days=5), END, features=True, as_of=AS_OF)
    lake = Lake(str(tmp_path / "lake"), now=lambda: NOW)
    for day in DAYS[:3]:
        lake.write_day(logged, day)
    late = synthetic_log(days=1, per_day=3, end=END - timedelta(days=2), seed=7)[0]
    logged.insert_predictions(
        [{**r, "transaction_id": "late-" + r["transaction_id"]} for r in late]
    )
    counts = logged.day_counts(END - timedelta(days=5), END)

    result = retire_exported_days(logged, lake.manifest, keep_days=1, now=NOW)

    assert sorted(result.dropped) == DAYS[:2]
    assert result.kept[DAYS[2]].startswith("lake manifest")  # late rows after the export
    assert result.kept[DAYS[3]] == "not in the lake"
    assert DAYS[4] not in result.kept  # within the retention
    remaining = logged.day_counts(END - timedelta(days=5), END)
    assert sorted(remaining) == DAYS[2:]
    assert logged.count_predictions() == 303 - counts[DAYS[0]][0] - counts[DAYS[1]][0]
    audited = logged.audit_entries(action="retire_online_day")
    assert sorted(e["subject"] for e in audited) == [f"predictions/day={d}" for d in DAYS[:2]]
    assert {e["details"]["rows"] for e in audited} == {counts[d][0] for d in DAYS[:2]}
    assert logged.verify_audit_chain().intact
    if logged.engine.dialect.name == "postgresql":
        with logged.engine.connect() as conn:
            kept = {f"{d:%Y-%m-%d}" for d in parts.existing_days(conn)}
        assert not set(DAYS[:2]) & kept

    # A dropped day's transactions are still known: replays are skipped, labels accepted.
    old = synthetic_log(days=5, per_day=60)[0][:10]
    assert old[0]["event_time"] < pd.Timestamp(DAYS[1]).tz_localize("UTC")
    assert logged.insert_predictions(old) == 0
    late_label = {**{k: old[0][k] for k in ("transaction_id",)}, "label": "fraud"}
    result = logged.upsert_labels([{**late_label, "source": "chargeback", "reported_at": NOW}])
    assert (result.inserted, result.rejected) == (1, [])

    # A new payment logged late for a dropped day stays in the store only: the lake's copy of
    # the day is never re-exported from the store's remnant.
    straggler = synthetic_log(days=1, per_day=1, end=END - timedelta(days=4), seed=11)[0]
    assert logged.insert_predictions([{**straggler[0], "transaction_id": "straggler"}]) == 1
    assert DAYS[0] not in logged.day_counts(END - timedelta(days=5), END)

    # The lake reads the dropped days as it did, with labels (also the new one) as of now.
    after = lake.frame(logged, END - timedelta(days=5), END, features=True, as_of=AS_OF)
    dropped = pd.to_datetime(before["event_time"]) < pd.Timestamp(DAYS[2]).tz_localize("UTC")
    expected = before[dropped].reset_index(drop=True)
    got = after[after["id"].isin(expected["id"])].reset_index(drop=True)
    changed = got["transaction_id"] == old[0]["transaction_id"]
    assert changed.sum() == 1 and (got.loc[changed, "label"] == "fraud").all()
    pd.testing.assert_frame_equal(
        got.loc[~changed].reset_index(drop=True), expected.loc[~changed].reset_index(drop=True)
    )
    assert len(got) == counts[DAYS[0]][0] + counts[DAYS[1]][0]


def test_a_retirement_that_fails_half_way_changes_nothing(
    logged: FeedbackStore, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(str(tmp_path / "lake"), now=lambda: NOW)
    lake.write_day(logged, DAYS[0])
    real_drop = parts.drop_day

    def drop_then_die(conn, day):
        real_drop(conn, day)
        raise RuntimeError("killed after the drop, before the audit entry")

    monkeypatch.setattr(parts, "drop_day", drop_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        retire_exported_days(logged, lake.manifest, keep_days=2, now=NOW)
    assert logged.count_predictions() == 300
    assert sorted(logged.day_counts(END - timedelta(days=5), END)) == DAYS
    assert logged.audit_entries(action="retire_online_day") == []


def test_a_stale_expectation_drops_nothing(logged: FeedbackStore) -> None:
    day = pd.Timestamp(DAYS[0]).date()
    rows, top, tid = logged.day_counts(END - timedelta(days=5), END)[DAYS[0]]
    assert logged.retire_day(day, (rows - 1, top, tid), "test", "stale") is None
    assert logged.count_predictions() == 300
    with pytest.raises(ValueError, match="at least 1"):
        retire_exported_days(logged, lambda key: None, keep_days=0, now=NOW)


def test_retention_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from fraud_core.settings import get_settings

    def online_retention_days() -> int:
        return get_settings().online_retention_days

    monkeypatch.delenv("FRAUD_ONLINE_RETENTION_DAYS", raising=False)
    assert online_retention_days() == 0
    monkeypatch.setenv("FRAUD_ONLINE_RETENTION_DAYS", "3")
    with pytest.raises(ValueError, match="at least 7"):
        online_retention_days()
    monkeypatch.setenv("FRAUD_ONLINE_RETENTION_DAYS", "30")
    assert online_retention_days() == 30


def test_keys_of_retired_days_go_after_the_key_retention_unless_labelled(
    logged: FeedbackStore, tmp_path
) -> None:
    from fraud_core.store.retention import retire_unlabelled_keys

    lake = Lake(str(tmp_path / "lake"), now=lambda: NOW)
    for day in DAYS[:2]:
        lake.write_day(logged, day)
    retire_exported_days(logged, lake.manifest, keep_days=1, now=NOW)
    keys_before = _rows_where(logged, "prediction_ids")
    labels_before = _rows_where(logged, "label_events")
    predictions_before = logged.count_predictions()
    oldest = pd.Timestamp(DAYS[0]).tz_localize("UTC")
    logged_rows = synthetic_log(days=5, per_day=60)[0]
    first_ids = {r["transaction_id"] for r in logged_rows if r["event_time"] < oldest + DAY}

    # Within the key retention nothing goes: a late chargeback still finds its transaction.
    assert retire_unlabelled_keys(logged, keep_days=30, now=NOW) == 0
    # The key retention ends after the first retired day: its unlabelled keys go, the keys of
    # labelled transactions and of days still in the log stay.
    now = oldest + DAY + timedelta(days=7)
    labelled = set(logged.label_events()["transaction_id"])
    dropped = retire_unlabelled_keys(logged, keep_days=7, now=now)
    assert dropped == len(first_ids - labelled) > 0
    assert _rows_where(logged, "prediction_ids") == keys_before - dropped
    assert _rows_where(logged, "label_events") == labels_before
    gone = sorted(first_ids - labelled)[0]
    late = {"transaction_id": gone, "label": "fraud", "source": "chargeback", "reported_at": now}
    assert [r.reason for r in logged.upsert_labels([late]).rejected] == ["unknown transaction_id"]
    assert logged.count_predictions() == predictions_before  # the log's days are untouched
    audited = logged.audit_entries(action="retire_keys")
    assert [e["details"]["keys"] for e in audited] == [
        dropped
    ] and logged.verify_audit_chain().intact
    assert retire_unlabelled_keys(logged, keep_days=7, now=now) == 0  # idempotent
