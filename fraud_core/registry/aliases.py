"""Audited alias moves: set, clear, canary share, promote, roll back.

Every move is appended to the store's `audit_log` before it is applied and recorded on the
version as the `last_alias_move` tag. Moves are serialized by a lock in the store's database
(`REGISTRY_LOCK`) and state the versions they expect to replace (read when the move was
planned, or given by the caller): a move planned on a state that changed before it took the
lock is refused (`StaleMove`) and the refusal audited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from numbers import Integral
from typing import TYPE_CHECKING, Any

from fraud_core import clock
from fraud_core.registry.names import (
    CANARY,
    CANARY_TAG,
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    RegistryError,
    StaleMove,
    check_alias,
)
from fraud_core.registry.reads import RegistryReads

if TYPE_CHECKING:
    from fraud_core.registry.names import ModelVersionInfo

log = logging.getLogger(__name__)

REGISTRY_LOCK = "fraud-registry-moves"


class AliasMoves(RegistryReads):
    """Moves of the deployment aliases, each audited under the registry lock."""

    def set_alias(
        self,
        alias: str,
        version: int | str,
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> ModelVersionInfo:
        """Point `alias` at `version` (a no-op if it already does)."""
        check_alias(alias)
        if alias == CANARY:
            raise RegistryError("use set_canary(version, percent, ...) for the canary alias")
        info = self._movable(version)
        holder = self.aliases().get(alias)
        if holder == info.version:
            return info
        self._move(
            "alias.set",
            info,
            [(alias, holder, info.version)],
            actor=actor,
            reason=reason,
            details=details,
        )
        return self.get_version(info.version)

    def clear_alias(self, alias: str, *, actor: str, reason: str) -> str | None:
        """Remove `alias`; returns the version that held it (None: nothing to clear)."""
        check_alias(alias)
        holder = self.aliases().get(alias)
        if holder is None:
            return None
        info = self.get_version(holder)
        self._move(
            "alias.clear",
            info,
            [(alias, holder, None)],
            actor=actor,
            reason=reason,
            canary_percent=0 if alias == CANARY else None,
        )
        return holder

    def set_canary(
        self, version: int | str, percent: int, *, actor: str, reason: str
    ) -> ModelVersionInfo:
        """Route `percent` (1-100) of traffic to `version` as the canary."""
        if isinstance(percent, bool) or not isinstance(percent, Integral) or not 0 < percent <= 100:
            raise ValueError(f"canary percent must be an integer in 1..100, got {percent!r}")
        percent = int(percent)
        info = self._movable(version)
        holder, current_percent = self.aliases().get(CANARY), self.canary_percent()
        if holder == info.version and current_percent == percent:
            return info
        moves = [] if holder == info.version else [(CANARY, holder, info.version)]
        self._move(
            "canary.set",
            info,
            moves,
            actor=actor,
            reason=reason,
            details={CANARY_TAG: {"from": current_percent, "to": percent}},
            canary_percent=percent,
            expected={CANARY_TAG: str(current_percent)},
        )
        return self.get_version(info.version)

    def promote(
        self,
        version: int | str,
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
        expect_champion: str | None = None,
    ) -> ModelVersionInfo:
        """Make `version` the champion; the old champion becomes `previous`.

        `challenger`/`canary` are cleared if they point at `version`. Promoting the current
        champion is a no-op. `expect_champion`: refuse (StaleMove) unless that version is
        still the champion when the move is made.
        """
        info = self._movable(version)
        current = self.aliases()
        champion = current.get(CHAMPION)
        if champion == info.version:
            log.info("version %s is already the champion: nothing to promote", info.version)
            return info
        moves: list[tuple[str, str | None, str | None]] = []
        if champion is not None:
            moves.append((PREVIOUS, current.get(PREVIOUS), champion))
        moves.append((CHAMPION, champion, info.version))
        moves += [
            (a, info.version, None) for a in (CHALLENGER, CANARY) if current.get(a) == info.version
        ]
        self._move(
            "promote",
            info,
            moves,
            actor=actor,
            reason=reason,
            details=details,
            canary_percent=0 if current.get(CANARY) == info.version else None,
            expected=None if expect_champion is None else {CHAMPION: str(expect_champion)},
        )
        return self.get_version(info.version)

    def rollback(self, *, actor: str, reason: str) -> ModelVersionInfo | None:
        """Restore `previous` as champion and clear `previous`; None when there is nothing to do.

        The rolled-back champion keeps no alias (its move is on its `last_alias_move` tag and in
        the audit log): a second rollback is then a no-op rather than a swap back to the model
        that was just judged bad.
        """
        current = self.aliases()
        previous = current.get(PREVIOUS)
        if previous is None:
            log.info("no previous version: nothing to roll back")
            return None
        target = self._movable(previous)
        champion = current.get(CHAMPION)
        subject = self.get_version(champion) if champion else target
        self._move(
            "rollback",
            subject,
            [(CHAMPION, champion, previous), (PREVIOUS, previous, None)],
            actor=actor,
            reason=reason,
            details={"restored_version": previous},
        )
        return self.get_version(previous)

    def _movable(self, version: int | str) -> ModelVersionInfo:
        info = self.get_version(version)
        if info.rejected:
            reason = info.tags.get("rejected_reason", "no reason recorded")
            raise RegistryError(f"{self._subject(info.version)} is rejected ({reason})")
        return info

    def _state(self) -> dict[str, str]:
        """Alias -> version, and the canary share under CANARY_TAG, as the registry says now."""
        aliases, percent = self.release_state()
        return {**aliases, CANARY_TAG: str(percent)}

    def _move(
        self,
        action: str,
        info: ModelVersionInfo,
        moves: list[tuple[str, str | None, str | None]],
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
        canary_percent: int | None = None,
        expected: Mapping[str, str | None] | None = None,
    ) -> None:
        """Under the registry lock: check that each move's `from` (and `expected`) still holds,
        audit, then apply the moves (alias, from, to). A stale or failed move is audited too.

        Auditing first means no alias ever moves without an audit entry (the store being down
        blocks the move). On PostgreSQL each entry commits at once; on SQLite, whose lock is
        the write transaction, the entries commit when the lock is released.
        """
        if self.store is None:
            raise RegistryError(
                f"{action} on {self._subject(info.version)} needs a FeedbackStore for the audit"
                " log: construct ModelRegistry(store=...)"
            )
        if not actor or not reason:
            raise ValueError("alias moves need a non-empty actor and reason")
        subject = self._subject(info.version)
        audit_details = {
            **(details or {}),
            "model": self.model_name,
            "version": info.version,
            "moves": [{"alias": a, "from": old, "to": new} for a, old, new in moves],
            "metrics": dict(info.metrics),
        }
        expect = {**{alias: old for alias, old, _new in moves}, **(expected or {})}
        error: Exception | None = None
        with self.store.lock(REGISTRY_LOCK) as held:
            state = self._state()
            stale = {k: (v, state.get(k)) for k, v in expect.items() if state.get(k) != v}
            if stale:
                error = StaleMove(f"{action} of {subject} refused: {_describe(stale)}")
                self.store.append_audit(
                    actor,
                    f"{action}.refused",
                    subject,
                    str(error),
                    {**audit_details, "requested_reason": reason, "stale": _stale_json(stale)},
                    held=held,
                )
            else:
                audit_id = self.store.append_audit(
                    actor, action, subject, reason, audit_details, held=held
                )
                try:
                    self._apply(action, info, moves, audit_id, actor, reason, canary_percent)
                except Exception as err:  # audited, then raised once the lock is released
                    self.store.append_audit(
                        actor,
                        f"{action}.failed",
                        subject,
                        f"{type(err).__name__}: {err}",
                        {"audit_id": audit_id},
                        held=held,
                    )
                    error = err
        if error is not None:
            raise error

    def _apply(
        self,
        action: str,
        info: ModelVersionInfo,
        moves: list[tuple[str, str | None, str | None]],
        audit_id: int,
        actor: str,
        reason: str,
        canary_percent: int | None,
    ) -> None:
        client = self.client
        if canary_percent is not None:
            client.set_registered_model_tag(self.model_name, CANARY_TAG, str(canary_percent))
        for alias, _old, new in moves:
            if new is None:
                client.delete_registered_model_alias(self.model_name, alias)
            else:
                client.set_registered_model_alias(self.model_name, alias, new)
        record = {"audit_id": audit_id, "action": action, "actor": actor, "reason": reason}
        record["at"] = clock.now().isoformat(timespec="seconds")
        touched = {v for _a, old, new in moves for v in (old, new) if v is not None}
        for version in sorted(touched | {info.version}, key=int):
            mine = [
                {"alias": a, "from": old, "to": new}
                for a, old, new in moves
                if version in (old, new)
            ]
            tag = json.dumps({**record, "moves": mine})
            client.set_model_version_tag(self.model_name, version, "last_alias_move", tag)


def _describe(stale: Mapping[str, tuple[str | None, str | None]]) -> str:
    parts = []
    for key, (wanted, found) in stale.items():
        if key == CANARY_TAG:
            parts.append(f"canary share is {found}%, expected {wanted}%")
        else:
            parts.append(f"{key} is {found or 'unset'}, expected {wanted or 'unset'}")
    return "; ".join(parts) + " (the registry moved since this move was planned: re-read, retry)"


def _stale_json(stale: Mapping[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    return {key: {"expected": wanted, "found": found} for key, (wanted, found) in stale.items()}
