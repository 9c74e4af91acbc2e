"""Failures logged once per cause: a failure that repeats on every poll or batch neither
floods the log nor goes unseen. Counting them is the caller's (a metric per failure)."""

from __future__ import annotations

import logging


def reason(error: BaseException) -> str:
    """The error's type and first line (SQLAlchemy appends the statement and parameters)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:400] if text else ''}"


class FailureLog:
    """Logs `what` failed when its cause changes, and when it works again."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._causes: dict[str, str] = {}

    def failed(self, what: str, error: BaseException) -> None:
        cause = reason(error)
        if self._causes.get(what) != cause:
            self._causes[what] = cause
            self._log.error("%s failed: %s", what, cause)

    def recovered(self, what: str) -> None:
        if self._causes.pop(what, None) is not None:
            self._log.warning("%s works again", what)
