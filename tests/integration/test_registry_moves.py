"""Concurrent alias moves: serialized by the store's lock, stale ones refused and audited.

Real MLflow SQLite registry, real store on SQLite and PostgreSQL, real threads and processes.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from click.testing import CliRunner

from fraud_core.cli import main
from fraud_core.registry import ModelRegistry, StaleMove
from fraud_core.store import FeedbackStore


@pytest.fixture
def versions(mlflow_uri, mlflow_artifact_root, store, train_tiny_model) -> list[str]:
    """Three registered versions, the first one champion."""
    registry = ModelRegistry(mlflow_uri, store=store, artifact_root=mlflow_artifact_root)
    model, _ = train_tiny_model()
    found = [registry.log_model(model, metrics={"fpr": 0.01}).version for _ in range(3)]
    registry.promote(found[0], actor="setup", reason="first release")
    return found


def _mover(db_url: str, mlflow_uri: str) -> tuple[FeedbackStore, ModelRegistry]:
    store = FeedbackStore(db_url)
    return store, ModelRegistry(mlflow_uri, store=store)


def test_two_movers_expecting_the_same_champion_one_is_refused_and_audited(
    db_url, mlflow_uri, store, versions
):
    v1, v2, v3 = versions
    barrier, outcomes = threading.Barrier(2), {}

    def move(target: str, actor: str) -> None:
        mover_store, registry = _mover(db_url, mlflow_uri)
        try:
            barrier.wait(timeout=30)
            registry.promote(target, actor=actor, reason="race", expect_champion=v1)
            outcomes[actor] = "moved"
        except StaleMove as err:
            outcomes[actor] = str(err)
        finally:
            mover_store.close()

    threads = [
        threading.Thread(target=move, args=(v2, "canary_sensor")),
        threading.Thread(target=move, args=(v3, "fraudops:alice")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert list(outcomes.values()).count("moved") == 1, outcomes
    (winner,) = [actor for actor, outcome in outcomes.items() if outcome == "moved"]
    (loser,) = set(outcomes) - {winner}
    won = v2 if winner == "canary_sensor" else v3
    assert f"champion is {won}, expected {v1}" in outcomes[loser]
    registry = ModelRegistry(mlflow_uri, store=store)
    assert registry.aliases() == {"champion": won, "previous": v1}
    entries = list(reversed(store.audit_entries(limit=100)))
    assert [(e["actor"], e["action"]) for e in entries[1:]] == [
        (winner, "promote"),
        (loser, "promote.refused"),
    ]
    assert entries[-1]["details"]["stale"]["champion"] == {"expected": v1, "found": won}
    assert store.verify_audit_chain().intact


def _promote_loop(db_url: str, mlflow_uri: str, actor: str, rounds: int, results) -> None:
    """Child process: `rounds` times, promote a version that is not the champion (as read)."""
    store, registry = _mover(db_url, mlflow_uri)
    accepted = refused = 0
    try:
        for i in range(rounds):
            champion = registry.aliases()["champion"]
            target = [v for v in ("1", "2", "3") if v != champion][i % 2]
            try:
                registry.promote(target, actor=actor, reason=f"round {i}", expect_champion=champion)
                accepted += 1
            except StaleMove:
                refused += 1
        results.put((actor, accepted, refused, None))
    except Exception as exc:  # reported to the parent, which asserts there were none
        results.put((actor, accepted, refused, repr(exc)))
    finally:
        store.close()


def test_concurrent_processes_never_interleave_moves(db_url, mlflow_uri, store, versions):
    context = multiprocessing.get_context("fork")
    results, rounds = context.Queue(), 6
    workers = [
        context.Process(
            target=_promote_loop, args=(db_url, mlflow_uri, f"mover-{n}", rounds, results)
        )
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    outcome = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    assert [error for *_, error in outcome] == [None, None]
    accepted = sum(m for _, m, _, _ in outcome)  # moved, or found already done by the other
    refused = sum(r for _, _, r, _ in outcome)
    assert accepted + refused == 2 * rounds
    promotes = [
        e["details"]["moves"] for e in reversed(store.audit_entries(action="promote", limit=1000))
    ]
    assert 2 <= len(promotes) - 1 <= accepted  # - the fixture's first release
    # Serialized: every promotion replaced the champion the previous one installed.
    for before, after in zip(promotes, promotes[1:], strict=False):
        installed = next(m["to"] for m in before if m["alias"] == "champion")
        assert next(m["from"] for m in after if m["alias"] == "champion") == installed
        assert next(m["to"] for m in after if m["alias"] == "previous") == installed
    assert len(store.audit_entries(action="promote.refused", limit=1000)) == refused
    assert store.verify_audit_chain().intact


def test_promote_command_refuses_a_stale_expectation(db_url, mlflow_uri, store, versions):
    v1, v2, v3 = versions
    args = ["promote", "--db-url", db_url, "--tracking-uri", mlflow_uri]
    moved = CliRunner().invoke(main, [*args, v2, "--expect-champion", v1])
    assert moved.exit_code == 0, moved.output

    stale = CliRunner().invoke(main, [*args, v3, "--expect-champion", v1])
    assert stale.exit_code == 1
    assert f"champion is {v2}, expected {v1}" in stale.output
    assert "Traceback" not in stale.output
    assert ModelRegistry(mlflow_uri, store=store).aliases()["champion"] == v2
    (refusal,) = store.audit_entries(action="promote.refused")
    assert refusal["subject"] == f"fraud-detector/{v3}"

    bad = CliRunner().invoke(main, [*args, v3, "--expect-champion", "two"])
    assert bad.exit_code == 2 and "--expect-champion" in bad.output
