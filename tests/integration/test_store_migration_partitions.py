"""Migration 0003 on a populated store (SQLite and PostgreSQL): rows, ids and labels kept,
keys filled, day partitions created (PostgreSQL); and back down to 0002."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from fraud_core.store import FeedbackStore
from fraud_core.store import partitions as parts
from fraud_core.store.db import alembic_config, make_engine
from fraud_core.store.models import predictions
from fraud_core.store.rows import validate
from tests.fixtures.prediction_log import END, synthetic_log

AS_OF = END + timedelta(days=200)


@pytest.fixture
def empty_url(db_url: str, request: pytest.FixtureRequest) -> str:
    if db_url.startswith("sqlite"):
        return db_url
    return request.getfixturevalue("pg_schema_factory")()


def _migrate(engine: sa.Engine, revision: str, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _populate_0002(engine: sa.Engine) -> tuple[int, int]:
    """Predictions and label events written through the 0002 schema; (rows, labels)."""
    rows, labels = synthetic_log(days=4, per_day=50)
    columns = validate(predictions, rows)
    records = [dict(zip(columns, r, strict=True)) for r in zip(*columns.values(), strict=True)]
    stored = {r["transaction_id"] for r in records}
    events = [
        {**e, "received_at": e["reported_at"], "details": None}
        for e in labels
        if e["transaction_id"] in stored
    ]
    meta = sa.MetaData()
    with engine.begin() as conn:
        old_predictions = sa.Table("predictions", meta, autoload_with=conn)
        old_labels = sa.Table("label_events", meta, autoload_with=conn)
        conn.execute(old_predictions.insert(), records)
        conn.execute(old_labels.insert(), events)
    return len(records), len(events)


def test_migration_keeps_a_populated_store_and_downgrades(empty_url: str) -> None:
    engine = make_engine(empty_url)
    _migrate(engine, "0002")
    n, n_labels = _populate_0002(engine)
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT id, transaction_id FROM predictions")).all()

    store = FeedbackStore(empty_url)  # upgrades to head
    assert store.count_predictions() == n
    with store.engine.connect() as conn:
        after = conn.execute(sa.text("SELECT id, transaction_id FROM predictions")).all()
        keys = conn.execute(sa.text("SELECT prediction_id, transaction_id FROM prediction_ids"))
        assert sorted(keys.all()) == sorted(before) == sorted(after)
        if store.engine.dialect.name == "postgresql":
            days = parts.existing_days(conn)
            held = conn.execute(sa.text(f"SELECT count(*) FROM {parts.DEFAULT}")).scalar_one()
            assert held == 0 and len(days) == 4
    labels = store.deciding_labels(END - timedelta(days=4), END, AS_OF)
    frame = store.training_data(days=4, end=END, as_of=AS_OF)
    assert 0 < len(labels) == frame["label"].notna().sum() <= n_labels

    fresh = synthetic_log(days=1, per_day=5, end=END + timedelta(days=1), seed=3)[0]
    fresh = [{**r, "transaction_id": "new-" + r["transaction_id"]} for r in fresh]
    old = synthetic_log(days=4, per_day=50)[0][:5]
    assert store.insert_predictions(old + fresh) == 5  # ids already stored are skipped
    newest = store.predictions_between(END, END + timedelta(days=1))["id"]
    assert newest.min() > max(i for i, _ in before)  # the id sequence carried on
    store.close()

    _migrate(engine, "0002", down=True)
    inspector = sa.inspect(engine)
    assert "prediction_ids" not in inspector.get_table_names()
    unique = [u["column_names"] for u in inspector.get_unique_constraints("predictions")]
    assert ["transaction_id"] in unique
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM predictions")).scalar_one() == n + 5
    engine.dispose()


def test_a_migration_that_fails_half_way_leaves_the_store_as_it_was(empty_url: str) -> None:
    """0003 runs in one transaction: an error at its last statement (an index name already
    taken) rolls back the key table, the foreign key move and the partitioned copy."""
    engine = make_engine(empty_url)
    _migrate(engine, "0002")
    n, n_labels = _populate_0002(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE INDEX ix_predictions_transaction_id ON label_events (label)"))
    with engine.connect() as conn:
        before = sorted(conn.execute(sa.text("SELECT id, transaction_id FROM predictions")).all())
    foreign_keys = sa.inspect(engine).get_foreign_keys("label_events")

    with pytest.raises(sa.exc.DBAPIError, match="ix_predictions_transaction_id"):
        FeedbackStore(empty_url)  # upgrades to head

    inspector = sa.inspect(engine)
    assert "prediction_ids" not in inspector.get_table_names()
    assert not [t for t in inspector.get_table_names() if t.startswith("predictions_")]
    assert inspector.get_foreign_keys("label_events") == foreign_keys
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        rows = sorted(conn.execute(sa.text("SELECT id, transaction_id FROM predictions")).all())
        labels = conn.execute(sa.text("SELECT count(*) FROM label_events")).scalar_one()
    assert (version, rows, labels) == ("0002", before, n_labels) and len(rows) == n

    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_predictions_transaction_id"))
    store = FeedbackStore(empty_url)  # the cause removed, the same upgrade goes through
    assert store.count_predictions() == n
    store.close()
    engine.dispose()
