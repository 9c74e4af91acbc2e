"""`fraudops labels import` (SQLite and PostgreSQL) and `fraudops demo` against the real scorer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from fraud_core.cli import main
from tests.fixtures.scorer import registry_copy, scorer_factory, serving_models  # noqa: F401


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_labels_import_loads_good_rows_reports_bad_ones_and_is_idempotent(store, db_url, tmp_path):
    seeded = invoke("seed", "--days", "2", "--tx-per-day", "50", "--db-url", db_url)
    assert seeded.exit_code == 0, seeded.output
    known = store.training_data(days=30, end=datetime.now(UTC))["transaction_id"].tolist()
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    export = tmp_path / "tickets-2026-01-05.csv"
    export.write_text(
        "transaction_id,label,source,reported_at,note\n"
        f"{known[0]},legit,dispute,{when},verified by support\n"
        f"{known[1]},fraud,,{when},\n"  # source defaults to ticket_export
        f"{known[2]},perhaps,dispute,{when},\n"
        f"no-such-tx,legit,dispute,{when},\n"
    )
    first = invoke("labels", "import", str(export), "--db-url", db_url)
    assert first.exit_code == 1
    assert "4 rows, 2 new, 0 updated, 2 refused" in first.output
    assert f"line 3: {known[2]}: label:" in first.output
    assert "line 4: no-such-tx:" in first.output and "2 label rows refused" in first.output
    events = store.label_events().set_index("transaction_id")
    assert events.loc[known[0], "label"] == "legit" and events.loc[known[0], "source"] == "dispute"
    assert events.loc[known[1], "source"] == "ticket_export"

    again = invoke("labels", "import", str(export), "--db-url", db_url)
    assert "4 rows, 0 new, 0 updated, 2 refused" in again.output
    assert len(store.label_events()) == len(events)


def test_labels_import_rejects_missing_and_unreadable_files(tmp_path):
    missing = invoke("labels", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    odd = tmp_path / "tickets.xlsx"
    odd.write_text("x")
    result = invoke("labels", "import", str(odd), "--db-url", f"sqlite:///{tmp_path / 'f.db'}")
    assert result.exit_code == 1 and "expected a .csv or .jsonl export" in result.output


def test_demo_scores_live_traffic_and_feeds_disputes_back(
    scorer_factory,  # noqa: F811
    serving_models,  # noqa: F811
    tmp_path,
):
    from fraud_core.store import FeedbackStore

    url = f"sqlite:///{tmp_path / 'fraud.db'}"
    store = FeedbackStore(url)
    registry = registry_copy(serving_models, tmp_path / "mlflow", store)
    registry.promote("1", actor="test", reason="demo champion")
    env = {"FRAUD_DB_URL": url, "MLFLOW_TRACKING_URI": registry.tracking_uri, "FRAUD_API_KEY": "k"}
    server = scorer_factory.start(env)

    result = invoke(
        "demo", "--url", server.url, "--count", "120", "--rate", "500", "--api-key", "k"
    )
    assert result.exit_code == 0, result.output
    assert "champion  1      " in result.output and "errors" not in result.output
    blocked = sum(int(line.split()[-1]) for line in result.output.splitlines() if " block " in line)
    disputes = int(result.output.split("disputes fed back as labels: ")[1].split()[0])
    assert 0 < disputes <= blocked
    server.stop()  # flushes the prediction log
    assert store.count_predictions() == 120
    events = store.label_events()
    assert len(events) == disputes and set(events["source"]) == {"dispute"}


def test_demo_refuses_a_scorer_that_is_not_there():
    result = invoke("demo", "--url", "http://127.0.0.1:9", "--count", "1")
    assert result.exit_code == 1 and "unreachable" in result.output
