"""Keep the terminal for people: library output (Dagster's event stream, MLflow INFO lines,
warnings) goes to a log file under `$FRAUD_VAR_DIR/logs/`, named on screen."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def log_dir() -> Path:
    from fraud_core.settings import get_settings

    folder = get_settings().var_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def to_log(path: Path) -> Iterator[None]:
    """Redirect this process's stdout and stderr (file descriptors 1 and 2, so subprocesses
    and C libraries too) to `path` (appended) for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
