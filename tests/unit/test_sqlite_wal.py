"""A new SQLite store's switch to WAL waits for the lock instead of failing."""

from __future__ import annotations

import sqlite3

import pytest

from fraud_core.store import db


class _Contended:
    """A DB-API connection whose WAL switch finds the file locked `busy` times."""

    def __init__(self, busy: int, message: str = "database is locked") -> None:
        self.busy, self.message, self.calls = busy, message, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode=WAL"
        self.calls += 1
        if self.calls <= self.busy:
            raise sqlite3.OperationalError(self.message)


def test_the_switch_to_wal_is_retried_while_the_file_is_locked() -> None:
    connection = _Contended(busy=3)
    db._wal(connection)
    assert connection.calls == 4


def test_other_errors_and_a_lock_held_past_the_busy_timeout_are_raised(monkeypatch) -> None:
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        db._wal(_Contended(busy=1, message="disk I/O error"))
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.05)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        db._wal(_Contended(busy=10_000))
