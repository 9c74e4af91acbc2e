"""FeedbackStore on SQLite and PostgreSQL: schema, idempotent writes, labels, training join,
audit log, metrics, policy arms and timestamps."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fraud_core.store import FeedbackStore, RowError, ThresholdArm, features_frame
from fraud_core.store.db import alembic_config, include_name

T0 = datetime(2025, 3, 1, tzinfo=UTC)
HASH = "0f" * 32


def prediction(i: int, **changes) -> dict:
    """A valid predictions row for transaction `tx-<i>`, scored at T0 + i minutes."""
    row = {
        "transaction_id": f"tx-{i}",
        "event_time": T0 + timedelta(minutes=i),
        "scored_at": T0 + timedelta(minutes=i, milliseconds=5),
        "customer_hash": HASH,
        "amount": 12.5 + i,
        "currency": "EUR",
        "amount_usd": 13.5 + i,
        "payment_method": "digital_wallet" if i % 2 else "card",
        "wallet_provider": "apple_pay" if i % 2 else None,
        "channel": "online",
        "card_present": i % 3 == 0,
        "customer_country": "DE",
        "merchant_country": "FR",
        "merchant_category": "electronics",
        "features": {"amount_usd": 13.5 + i, "is_new_device": float(i % 2)},
        "feature_version": "0123456789abcdef",
        "score": (i % 10) / 10,
        "threshold": 0.5,
        "decision": "block" if (i % 10) >= 5 else "approve",
        "model_version": "3",
        "variant": "champion",
        "segment": "medium:new",
        "explored": False,
        "propensity": 1.0,
        "policy_version": "p1",
    }
    row.update(changes)
    return row


def label(i: int, value: str = "fraud", source: str = "dispute", **changes) -> dict:
    row = {
        "transaction_id": f"tx-{i}",
        "label": value,
        "source": source,
        "reported_at": T0 + timedelta(days=2),
    }
    row.update(changes)
    return row


@pytest.fixture
def empty_url(db_url: str, request: pytest.FixtureRequest) -> str:
    """A database no store has opened yet: the SQLite file, or a new PostgreSQL schema."""
    if db_url.startswith("sqlite"):
        return db_url
    return request.getfixturevalue("pg_schema_factory")()


# -- schema -------------------------------------------------------------------------------


def test_migrations_create_tables_indexes_and_match_models(store: FeedbackStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from fraud_core.store.models import Base

    inspector = sa.inspect(store.engine)
    tables = set(inspector.get_table_names())
    assert {
        "predictions",
        "prediction_ids",
        "shadow_predictions",
        "label_events",
        "audit_log",
        "policy_arms",
        "monitoring_metrics",
        "alembic_version",
    } <= tables
    indexes = {
        table: {tuple(ix["column_names"]) for ix in inspector.get_indexes(table)}
        | {tuple(uq["column_names"]) for uq in inspector.get_unique_constraints(table)}
        for table in tables
    }
    assert ("event_time", "transaction_id") in indexes["predictions"]
    assert ("transaction_id",) in indexes["predictions"]
    assert ("event_time",) in indexes["shadow_predictions"]
    assert ("transaction_id", "model_version") in indexes["shadow_predictions"]
    assert ("transaction_id", "source") in indexes["label_events"]
    assert ("policy_version", "segment", "threshold") in indexes["policy_arms"]
    assert ("metric", "computed_at") in indexes["monitoring_metrics"]
    fks = inspector.get_foreign_keys("label_events")  # keys outlive a retired day
    assert [(fk["referred_table"], fk["referred_columns"]) for fk in fks] == [
        ("prediction_ids", ["transaction_id"])
    ]
    features_type = {c["name"]: c["type"] for c in inspector.get_columns("predictions")}["features"]
    if store.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        assert isinstance(features_type, JSONB)
    else:
        assert isinstance(features_type, sa.JSON)
    with store.engine.connect() as conn:
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert context.get_current_revision() == head
        assert compare_metadata(context, Base.metadata) == []


def _open_store(url: str, barrier, errors) -> None:
    """Child process: wait for the others, then open (and so migrate) the store."""
    try:
        barrier.wait(timeout=30)
        FeedbackStore(url).close()
    except Exception as exc:  # reported to the parent, which asserts there were none
        errors.put(repr(exc))


def test_opening_is_idempotent_and_safe_from_concurrent_processes(empty_url: str) -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")  # children start with everything imported
    barrier, errors = context.Barrier(3), context.Queue()
    procs = [context.Process(target=_open_store, args=(empty_url, barrier, errors)) for _ in "abc"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert errors.empty(), errors.get()
    store = FeedbackStore(empty_url)  # and once more, at head already
    with store.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(versions) == 1
    assert store.count_predictions() == 0
    store.close()


def test_downgrade_to_base_then_upgrade_again(empty_url: str) -> None:
    from alembic import command

    store = FeedbackStore(empty_url)
    store.insert_predictions([prediction(1)])
    config = alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert "predictions" not in sa.inspect(store.engine).get_table_names()
    store.close()
    reopened = FeedbackStore(empty_url)
    assert reopened.count_predictions() == 0
    reopened.close()


# -- predictions --------------------------------------------------------------------------


def test_insert_predictions_is_idempotent_on_transaction_id(store: FeedbackStore) -> None:
    assert store.insert_predictions([prediction(i) for i in range(50)]) == 50
    assert store.insert_predictions([prediction(i) for i in range(50)]) == 0
    assert store.insert_predictions([prediction(i) for i in range(25, 75)]) == 25
    batch = [prediction(100), prediction(101), prediction(100, score=0.99)]
    assert store.insert_predictions(batch) == 2
    assert store.insert_predictions([]) == 0
    assert store.count_predictions() == 77
    frame = store.predictions_between(T0, T0 + timedelta(days=1))
    assert frame["transaction_id"].is_unique and len(frame) == 77
    first = frame.set_index("transaction_id").loc["tx-100"]
    assert first["score"] == 0.0  # the first row of the batch won


def test_concurrent_overlapping_writers_store_each_row_once(store: FeedbackStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    batches = [[prediction(i) for i in range(start, start + 60)] for start in range(0, 200, 20)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        inserted = list(pool.map(store.insert_predictions, batches))
    assert sum(inserted) == store.count_predictions() == 240


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_copy_fallback_when_a_writer_wins_the_race_after_the_lookup(
    store: FeedbackStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fraud_core.store import bulk

    store.insert_predictions([prediction(i) for i in range(10)])
    monkeypatch.setattr(bulk, "_new_rows", lambda conn, table, columns, key: columns)
    assert store.insert_predictions([prediction(i) for i in range(5, 15)]) == 5
    assert store.count_predictions() == 15


def test_a_batch_draws_its_ids_without_scanning_the_keys(store: FeedbackStore) -> None:
    """On SQLite (the next ids follow the largest used) ids are unique across keys and the largest
    comes from an index (the key table outlives retention: a scan each log flush); PostgreSQL
    draws them from a sequence."""
    from fraud_core.store.keys import draw_ids
    from fraud_core.store.models import prediction_ids

    store.insert_predictions([prediction(i) for i in range(3)])
    with store.engine.begin() as conn:
        first = draw_ids(conn, 2)
        assert first[0] > 3 and first[1] == first[0] + 1
        if store.engine.dialect.name == "sqlite":
            duplicate = {"transaction_id": "tx-other", "prediction_id": 1, "event_time": T0}
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(prediction_ids.insert().values(duplicate))
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT max(prediction_id) FROM prediction_ids"
            ).all()
            assert not any("SCAN" in str(row[-1]) for row in plan), plan


def test_a_canary_stages_counts_come_from_the_release_window_index(store: FeedbackStore) -> None:
    """The release sensors count a stage's rows on every tick: decisions per variant since the
    stage began. On SQLite the counts are read from the covering index (no row of the table is
    fetched: three weeks into a stage that was 0.7 s a tick); both stores count the same."""
    from fraud_core.store.release_queries import decision_counts

    canary = [prediction(i, variant="canary", model_version="4") for i in range(20, 30)]
    store.insert_predictions([prediction(i) for i in range(20)] + canary)
    counts = _counted_from_an_index(
        store, lambda: decision_counts(store, T0 + timedelta(minutes=10), "4")
    )
    assert counts == {"champion": (10, 5), "canary": (10, 5)}


def _counted_from_an_index(store: FeedbackStore, count):
    """`count()`'s result; on SQLite, checks that its one counting query reads a covering index
    (no row of the table fetched)."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if "count(" in statement.lower():
            statements.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        result = count()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    if store.engine.dialect.name == "sqlite":
        ((statement, parameters),) = statements
        with store.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        assert any("COVERING INDEX" in str(row[-1]) for row in plan), plan
    return result


def test_the_lakes_day_counts_come_from_the_event_time_index(store: FeedbackStore) -> None:
    """The lake checks every day of a window against the store before it reads it (rows, largest
    id and transaction id per day). On SQLite these are read from the covering index (no row
    of the table is fetched); both stores count the same."""
    store.insert_predictions([prediction(i) for i in range(5)])
    counts = _counted_from_an_index(
        store, lambda: store.day_counts(T0 - timedelta(days=1), T0 + timedelta(days=1))
    )
    assert counts == {f"{T0:%Y-%m-%d}": (5, 5, "tx-4")}


def test_predictions_round_trip(store: FeedbackStore) -> None:
    rows = [prediction(i) for i in range(4)]
    rows[1]["features"] = {"amount_usd": float("nan"), "is_new_device": 1.0}
    rows[2] = prediction(2, explored=True, propensity=0.05, policy_version=None)
    del rows[3]["explored"], rows[3]["propensity"], rows[3]["wallet_provider"]
    store.insert_predictions(rows)
    frame = store.predictions_between(T0, T0 + timedelta(hours=1))
    assert list(frame["transaction_id"]) == ["tx-0", "tx-1", "tx-2", "tx-3"]
    assert str(frame["event_time"].dtype) == "datetime64[ns, UTC]"
    got = frame.iloc[0].to_dict()
    for name, value in prediction(0).items():
        assert got[name] == value, name
    assert frame["card_present"].tolist() == [True, False, False, True]
    assert frame["explored"].tolist() == [False, False, True, False]
    assert frame["propensity"].tolist() == [1.0, 1.0, 0.05, 1.0]
    assert frame["wallet_provider"].tolist() == [None, "apple_pay", None, None]
    assert frame["policy_version"].tolist() == ["p1", "p1", None, "p1"]
    assert frame["features"][1] == {"amount_usd": None, "is_new_device": 1.0}
    matrix = features_frame(frame, ["is_new_device", "amount_usd", "absent"])
    assert list(matrix.columns) == ["is_new_device", "amount_usd", "absent"]
    assert matrix.dtypes.eq("float64").all()
    assert matrix.iloc[0].tolist()[:2] == [0.0, 13.5]
    assert math.isnan(matrix.iloc[1, 1]) and matrix["absent"].isna().all()


def test_float32_features_come_back_exactly(store: FeedbackStore) -> None:
    """Features are written with 9 significant digits: every float32 value survives."""
    rng = np.random.default_rng(11)
    names = [f"f{j}" for j in range(12)]
    scales = 10.0 ** rng.integers(-30, 30, size=(40, 12))
    X = (rng.normal(size=(40, 12)) * scales).astype(np.float32)
    X[:, 0] = np.round(X[:, 0])  # whole numbers, as one-hot columns have
    rows = [prediction(i, features=dict(zip(names, X[i].tolist(), strict=True))) for i in range(40)]
    store.insert_predictions(rows)
    frame = store.predictions_between(T0, T0 + timedelta(days=1))
    back = features_frame(frame, names).to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(back, X)


def test_insert_predictions_accepts_a_dataframe(store: FeedbackStore) -> None:
    frame = pd.DataFrame([prediction(i) for i in range(6)])
    frame["event_time"] = frame["event_time"].dt.tz_localize(None)  # naive means UTC
    frame.loc[0, "wallet_provider"] = float("nan")
    assert store.insert_predictions(frame) == 6
    assert store.insert_predictions(frame) == 0
    back = store.predictions_between(T0, T0 + timedelta(hours=1))
    assert back["event_time"].tolist() == [T0 + timedelta(minutes=i) for i in range(6)]
    assert back["wallet_provider"][0] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": pd.NA}, r"row 3 \(transaction_id 'tx-3'\), column 'score'"),
        ({"amount": "12.5"}, r"row 3 .*column 'amount': expected a number"),
        ({"amount": float("inf")}, r"column 'amount': expected a finite number"),
        ({"decision": "maybe"}, r"column 'decision': expected one of approve, block"),
        ({"currency": "EURO"}, r"column 'currency': longer than 3 characters"),
        ({"card_present": "yes"}, r"column 'card_present': expected a boolean"),
        ({"event_time": "yesterday"}, r"column 'event_time'"),
        ({"features": {"amount_usd": "high"}}, r"column 'features': expected a number"),
        ({"features": {"amount_usd": float("inf")}}, r"feature 'amount_usd' is infinite"),
        ({"features": [1.0, 2.0]}, r"column 'features': expected a mapping"),
        ({"features": {1: 0.5}}, r"column 'features': feature names must be strings"),
        ({"transaction_id": None}, r"column 'transaction_id': must not be null"),
        ({"scroe": 0.5}, r"unknown column\(s\) scroe"),
    ],
)
def test_bad_rows_are_refused_with_the_row_and_column(
    store: FeedbackStore, change: dict, message: str
) -> None:
    rows = [prediction(i) for i in range(5)]
    rows[3].update(change)
    if change.get("score") is pd.NA:
        del rows[3]["score"]
        message += ": missing"
    with pytest.raises(RowError, match=message):
        store.insert_predictions(rows)
    assert store.count_predictions() == 0


def test_shadow_predictions_are_idempotent_per_model_version(store: FeedbackStore) -> None:
    def shadow(i: int, version: str = "4") -> dict:
        return {
            "transaction_id": f"tx-{i}",
            "event_time": T0 + timedelta(minutes=i),
            "scored_at": T0 + timedelta(minutes=i, milliseconds=9),
            "model_version": version,
            "score": 0.7,
            "threshold": 0.5,
            "decision": "block",
        }

    # written before the main rows exist: no foreign key
    assert store.insert_shadow_predictions([shadow(i) for i in range(10)]) == 10
    assert store.insert_shadow_predictions([shadow(i) for i in range(10)]) == 0
    assert store.insert_shadow_predictions([shadow(0, "5"), shadow(1)]) == 1
    with pytest.raises(RowError, match="column 'decision'"):
        store.insert_shadow_predictions([shadow(2) | {"decision": "deny"}])


# -- labels -------------------------------------------------------------------------------


def test_label_upsert_is_idempotent_and_updates_changes(store: FeedbackStore) -> None:
    store.insert_predictions([prediction(i) for i in range(3)])
    first = store.upsert_labels([label(0), label(1, "legit"), label(0, source="chargeback")])
    assert (first.inserted, first.updated, first.rejected) == (3, 0, [])
    again = store.upsert_labels([label(0), label(1, "legit"), label(0, source="chargeback")])
    assert (again.inserted, again.updated, again.rejected) == (0, 0, [])
    later = T0 + timedelta(days=9)
    changed = store.upsert_labels([label(1, "fraud"), label(0, reported_at=later), label(2)])
    assert (changed.inserted, changed.updated, changed.rejected) == (1, 2, [])
    events = store.label_events().set_index(["transaction_id", "source"])
    assert len(events) == 4
    assert events.loc[("tx-1", "dispute"), "label"] == "fraud"
    assert events.loc[("tx-0", "dispute"), "reported_at"] == later
    assert str(events["received_at"].dtype) == "datetime64[ns, UTC]"
    received = events["received_at"].min()
    assert len(store.label_events(since=received + timedelta(days=1))) == 0
    assert len(store.label_events(since=received)) == 4


def test_label_rejections_keep_the_rest_of_the_batch(store: FeedbackStore) -> None:
    store.insert_predictions([prediction(i) for i in range(3)])
    batch = [
        label(0),
        label(99),
        label(1, "maybe"),
        {"transaction_id": "tx-1", "label": "fraud", "source": "api"},
        "not a row",
        label(1, note="extra"),
        label(2, "legit", source="ticket_export", details={"ticket": "T-1"}),
    ]
    result = store.upsert_labels(batch)
    assert (result.inserted, result.updated) == (2, 0)
    reasons = {r.index: (r.transaction_id, r.reason) for r in result.rejected}
    assert reasons == {
        1: ("tx-99", "unknown transaction_id"),
        2: ("tx-1", "label: expected one of fraud, legit, got 'maybe'"),
        3: ("tx-1", "missing field(s) reported_at"),
        4: (None, "expected a mapping, got str"),
        5: ("tx-1", "unknown field(s) note"),
    }
    events = store.label_events()
    assert sorted(events["transaction_id"]) == ["tx-0", "tx-2"]
    assert events.set_index("transaction_id").loc["tx-2", "details"] == {"ticket": "T-1"}


# -- training data ------------------------------------------------------------------------


def test_training_data_window_labels_and_as_of(store: FeedbackStore) -> None:
    end = T0 + timedelta(days=1)
    store.insert_predictions(
        [
            prediction(1, event_time=end - timedelta(days=1)),  # on the start bound: in
            prediction(2, event_time=end - timedelta(hours=1)),
            prediction(3, event_time=end - timedelta(hours=2)),
            prediction(4, event_time=end - timedelta(hours=3)),
            prediction(5, event_time=end),  # on the end bound: out
            prediction(6, event_time=end - timedelta(days=1, microseconds=1)),  # before: out
        ]
    )
    day = timedelta(days=1)
    store.upsert_labels(
        [
            label(1, "legit", "dispute", reported_at=end + day),
            label(1, "fraud", "chargeback", reported_at=end + 3 * day),
            label(1, "fraud", "api", reported_at=end + 2 * day),
            label(2, "legit", "ticket_export", reported_at=end + day),
            label(3, "fraud", "chargeback", reported_at=end + 30 * day),
            label(6, "fraud", "api", reported_at=end),
        ]
    )
    frame = store.training_data(days=1, end=end, as_of=end + 10 * day)
    assert list(frame["transaction_id"]) == ["tx-1", "tx-4", "tx-3", "tx-2"]
    by_id = frame.set_index("transaction_id")
    assert by_id.loc["tx-1", "label"] == "fraud"  # fraud wins over an earlier legit report
    assert by_id.loc["tx-1", "label_source"] == "api"  # the earliest fraud report
    assert by_id.loc["tx-1", "label_reported_at"] == end + 2 * day
    assert by_id.loc["tx-2", "label"] == "legit"
    assert by_id.loc["tx-3", "label"] is None  # reported after as_of
    assert by_id.loc["tx-4", "label"] is None and pd.isna(by_id.loc["tx-4", "label_reported_at"])
    assert by_id.loc["tx-2", "features"] == prediction(2)["features"]
    assert str(frame["label_reported_at"].dtype) == "datetime64[ns, UTC]"

    later = store.training_data(days=1, end=end, as_of=end + 31 * day).set_index("transaction_id")
    assert later.loc["tx-3", "label"] == "fraud"
    before = store.training_data(days=1, end=end).set_index("transaction_id")  # as_of = end
    assert before["label"].isna().all()
    assert len(store.training_data(days=1, end=end + 30 * day)) == 0
    now_window = store.training_data(days=1)
    assert list(now_window.columns) == list(frame.columns) and len(now_window) == 0


def test_fraud_report_delays_of_a_window_as_of(store: FeedbackStore) -> None:
    day = timedelta(days=1)
    store.insert_predictions(
        [
            prediction(1, event_time=T0),
            prediction(2, event_time=T0 + day),
            prediction(3, event_time=T0 + 2 * day),
            prediction(4, event_time=T0 + 3 * day),  # after the window
            prediction(5, event_time=T0 + 2 * day),
        ]
    )
    store.upsert_labels(
        [
            label(1, "fraud", "chargeback", reported_at=T0 + 30 * day),
            label(1, "fraud", "api", reported_at=T0 + 10 * day),  # the first report counts
            label(2, "fraud", "chargeback", reported_at=T0 + day + 40 * day),
            label(3, "legit", "dispute", reported_at=T0 + 3 * day),  # not fraud
            label(4, "fraud", "chargeback", reported_at=T0 + 4 * day),
            label(5, "fraud", "chargeback", reported_at=T0 + 70 * day),  # after as_of
        ]
    )
    delays = store.fraud_report_delays(T0, T0 + 3 * day, as_of=T0 + 60 * day)
    assert delays.tolist() == [10.0, 40.0]
    assert store.fraud_report_delays(T0, T0 + 3 * day, as_of=T0 + 70 * day).tolist() == [
        10.0,
        40.0,
        68.0,
    ]
    assert len(store.fraud_report_delays(T0 + 10 * day, T0 + 20 * day, T0 + 60 * day)) == 0


# -- audit, metrics, policy ---------------------------------------------------------------


def test_audit_log_is_append_only(store: FeedbackStore) -> None:
    first = store.append_audit("ci", "promote", "model:3", "gates passed", {"fpr": 0.012})
    second = store.append_audit("alice", "rollback", "model:3", "FPR alert", {"to": "2"})
    third = store.append_audit("ci", "promote", "model:4", "gates passed", {})
    assert first < second < third
    entries = store.audit_entries()
    assert [e["id"] for e in entries] == [third, second, first]
    assert entries[2]["details"] == {"fpr": 0.012}
    assert entries[2]["at"].tzinfo is not None
    assert [e["id"] for e in store.audit_entries(subject="model:3")] == [second, first]
    assert [e["id"] for e in store.audit_entries(action="promote", limit=1)] == [third]
    for statement in (
        "UPDATE audit_log SET reason = 'rewritten'",
        f"DELETE FROM audit_log WHERE id = {first}",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert [e["reason"] for e in store.audit_entries()] == [
        "gates passed",
        "FPR alert",
        "gates passed",
    ]
    with pytest.raises(RowError, match="column 'details'"):
        store.append_audit("ci", "promote", "model:5", "x", {"bad": object()})


def test_latest_metrics_per_key(store: FeedbackStore) -> None:
    def metric(name: str, value: float, hours: int, **keys) -> dict:
        return {
            "metric": name,
            "value": value,
            "computed_at": T0 + timedelta(hours=hours),
            "window_start": T0 - timedelta(days=7),
            "window_end": T0 + timedelta(hours=hours),
            "source": "model_performance",
            **keys,
        }

    rows = [
        metric("fpr", 0.05, 1, model_version="3", variant="champion"),
        metric("fpr", 0.07, 2, model_version="3", variant="champion"),
        metric("fpr", 0.02, 1, model_version="4", variant="canary"),
        metric("drift", 0.3, 1, feature="amount_usd"),
        metric("drift", 0.1, 3, feature="amount_usd"),
        metric("drift", 0.2, 2, feature="hour_sin"),
        metric("volume", 10.0, 5),
        metric("volume", 12.0, 4),
    ]
    assert store.write_metrics(rows) == 8
    latest = store.latest_metrics()
    assert len(latest) == 5
    key = latest.set_index(["metric", "model_version", "feature"], drop=False)
    assert key.loc[("fpr", "3", None), "value"] == 0.07
    assert key.loc[("drift", None, "amount_usd"), "value"] == 0.1
    assert key.loc[("volume", None, None), "value"] == 10.0
    assert str(latest["computed_at"].dtype) == "datetime64[ns, UTC]"
    fpr = store.latest_metrics("fpr")
    assert sorted(fpr["value"]) == [0.02, 0.07]
    recent = store.latest_metrics(since=T0 + timedelta(hours=2))
    assert sorted(recent["value"]) == [0.07, 0.1, 0.2, 10.0]
    with pytest.raises(RowError, match="column 'source'"):
        store.write_metrics([{k: v for k, v in rows[0].items() if k != "source"}])


def test_policy_arms_round_trip(store: FeedbackStore) -> None:
    assert store.load_policy_arms() == []
    arms = [{"segment": "small:new", "threshold": t, "alpha": 1.0, "beta": 1.0} for t in (0.3, 0.5)]
    assert store.save_policy_arms("p1", arms) == 2
    assert store.save_policy_arms("p2", arms[:1]) == 1
    assert [a.policy_version for a in store.load_policy_arms()] == ["p2"]
    loaded = store.load_policy_arms("p1")
    assert [(a.threshold, a.pulls, a.reward) for a in loaded] == [(0.3, 0, 0.0), (0.5, 0, 0.0)]
    assert loaded[0].updated_at.tzinfo is not None
    pulled = ThresholdArm(**{**vars(loaded[1]), "alpha": 4.0, "pulls": 5, "reward": 2.5})
    later = loaded[1].updated_at + timedelta(hours=1)
    assert store.save_policy_arms("p1", [vars(pulled) | {"updated_at": later}]) == 1
    reloaded = store.load_policy_arms("p1")
    assert len(reloaded) == 2
    assert reloaded[1] == ThresholdArm("p1", "small:new", 0.5, 4.0, 1.0, 5, 2.5, later)
    assert [a.policy_version for a in store.load_policy_arms()] == ["p1", "p1"]
    with pytest.raises(RowError, match="another policy version"):
        store.save_policy_arms("p3", [pulled])


def test_policy_arms_of_each_model(store: FeedbackStore) -> None:
    """Each policy version belongs to the model whose scores it was learned on: a model's
    latest version is found among its own, whatever other models learned since."""
    arm = {"segment": "all", "threshold": 0.3, "alpha": 2.0, "beta": 1.0}
    assert store.load_policy_arms(model_version="4") == []
    store.save_policy_arms("p1", [arm], model_version="4")
    store.save_policy_arms("p2", [arm], model_version="5")
    store.save_policy_arms("p3", [arm | {"threshold": 0.4}], model_version="4")
    store.save_policy_arms("p4", [arm], model_version="5")
    (latest,) = store.load_policy_arms(model_version="4")
    assert (latest.policy_version, latest.model_version, latest.threshold) == ("p3", "4", 0.4)
    assert [a.policy_version for a in store.load_policy_arms(model_version="5")] == ["p4"]
    assert store.load_policy_arms(model_version="6") == []
    assert [a.model_version for a in store.load_policy_arms("p1")] == ["4"]
    with pytest.raises(RowError, match="another model"):
        store.save_policy_arms("p5", [arm | {"model_version": "4"}], model_version="5")


def test_upgrade_gives_existing_policy_versions_their_audited_model(empty_url: str) -> None:
    """Revision 0006 adds `policy_arms.model_version` and fills it from each version's
    `policy.update` audit entry (where the model was recorded before)."""
    from alembic import command

    store = FeedbackStore(empty_url)
    config = alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    with store.engine.begin() as conn:
        for version in ("p1", "p2"):
            conn.execute(
                sa.text(
                    "INSERT INTO policy_arms (policy_version, segment, threshold, alpha, beta, "
                    "pulls, reward, updated_at) VALUES (:v, 'all', 0.3, 2, 1, 0, 0, :at)"
                ),
                {"v": version, "at": T0},
            )
    store.append_audit(
        "test",
        "policy.update",
        "policy/p1",
        "learned",
        {"policy_version": "p1", "model_version": "4"},
    )
    store.close()
    upgraded = FeedbackStore(empty_url)
    assert [a.model_version for a in upgraded.load_policy_arms("p1")] == ["4"]
    assert [a.model_version for a in upgraded.load_policy_arms("p2")] == [None]
    assert [a.policy_version for a in upgraded.load_policy_arms(model_version="4")] == ["p1"]
    upgraded.close()


# -- time zones ---------------------------------------------------------------------------


def test_timestamps_are_utc_whatever_comes_in(store: FeedbackStore) -> None:
    paris = timezone(timedelta(hours=2))
    instant = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=paris)
    store.insert_predictions(
        [
            prediction(1, event_time=instant, scored_at=instant.replace(tzinfo=None)),
            prediction(2, event_time="2025-06-01T12:31:00Z", scored_at=instant),
        ]
    )
    frame = store.predictions_between(
        datetime(2025, 6, 1, 14, 0, tzinfo=paris), datetime(2025, 6, 1, 12, 35)
    )
    assert frame["event_time"].tolist() == [
        instant.astimezone(UTC),
        datetime(2025, 6, 1, 12, 31, tzinfo=UTC),
    ]
    assert frame["scored_at"][0] == datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=UTC)
    store.upsert_labels([label(1, reported_at=instant)])
    events = store.label_events()
    assert events["reported_at"][0] == instant
    assert str(events["reported_at"].dt.tz) == "UTC"
    data = store.training_data(days=1, end=datetime(2025, 6, 2), as_of=instant)
    assert data.set_index("transaction_id").loc["tx-1", "label"] == "fraud"
    just_before = instant - timedelta(microseconds=1)
    early = store.training_data(days=1, end=datetime(2025, 6, 2), as_of=just_before)
    assert early.set_index("transaction_id").loc["tx-1", "label"] is None
