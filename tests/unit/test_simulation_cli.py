"""`fraudops simulate`: Parquet files of a reproducible history; bad arguments exit non-zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner

from fraud_core.cli import main
from fraud_core.schema import Transaction

FILES = ("transactions", "oracle", "decisions", "label_events")


def simulate(out, *args: str):
    return CliRunner().invoke(
        main, ["simulate", "--days", "20", "--tx-per-day", "300", "--seed", "3", "--out", str(out),
               "--end", "2026-01-31", "--as-of", "2026-03-01", *args],
    )  # fmt: skip


def read(folder) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in FILES}


def test_writes_a_reproducible_history(tmp_path):
    first = simulate(tmp_path / "a")
    assert first.exit_code == 0, first.output
    assert "6,000 payments 2026-01-12 .. 2026-01-31" in first.output
    assert "transparent rule rule-v1" in first.output
    tables = read(tmp_path / "a")
    tx = tables["transactions"]
    assert len(tx) == 6_000 and list(tx.columns) == list(Transaction.model_fields)
    Transaction.model_validate(tx.astype(object).where(tx.notna(), None).iloc[0].to_dict())
    assert tables["oracle"]["transaction_id"].equals(tx["transaction_id"])
    assert set(tables["label_events"]["transaction_id"]) <= set(tx["transaction_id"])
    assert tables["decisions"]["decision"].isin(["approve", "block"]).all()
    assert simulate(tmp_path / "b").exit_code == 0
    for name, table in read(tmp_path / "b").items():
        pd.testing.assert_frame_equal(table, tables[name], obj=name)


def test_approve_all_labels_every_reported_fraud(tmp_path):
    result = simulate(tmp_path, "--approve-all")
    assert result.exit_code == 0, result.output
    tables = read(tmp_path)
    assert (tables["decisions"]["decision"] == "approve").all()
    assert set(tables["label_events"]["source"]) <= {"chargeback"}


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--days", "0"], "--days"),
        (["--tx-per-day", "x"], "--tx-per-day"),
        (["--exploration", "0.9"], "--exploration"),
        (["--model", "no-such-model.json"], "--model"),
        (["--end", (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")], "not before"),
        (["--as-of", "2999-01-01"], "in the future"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_reason(tmp_path, args, reason):
    result = simulate(tmp_path, *args)
    assert result.exit_code == 2
    assert reason in result.output.strip().splitlines()[-1]


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    junk = tmp_path / "model.json"
    junk.write_text("{not a model")
    result = simulate(tmp_path / "out", "--model", str(junk))
    assert result.exit_code == 2
    assert "not an XGBoost model" in result.output.strip().splitlines()[-1]
