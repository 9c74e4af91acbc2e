"""A settings profile for the running code location: `KEY=VALUE` lines (dotenv syntax) that
override the environment each time the definitions load.

The file is `FRAUD_PROFILE_FILE`, default `$FRAUD_VAR_DIR/profile.env`; absent means no
profile. `fraudops demo --loop` writes the demo's intervals there and reloads the code
location (as the UI's "Reload" button does); it deletes the file and reloads again when it
ends, so production settings come back. Every process that loads the definitions (code
server, daemon-launched runs) reads the same file, so sensors and runs agree.
"""

from __future__ import annotations

import os
from pathlib import Path

_applied: dict[str, str | None] = {}


def profile_path() -> Path:
    from fraud_core.settings import get_settings

    return get_settings().profile_file


def read_profile(path: Path | None = None) -> dict[str, str]:
    """The profile's variables ({} without a file)."""
    from dotenv import dotenv_values

    path = path or profile_path()
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def apply_profile() -> dict[str, str]:
    """Undo the previous profile of this process, then set the current one; returns it."""
    for name, before in _applied.items():
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
    _applied.clear()
    values = read_profile()
    for name, value in values.items():
        _applied[name] = os.environ.get(name)
        os.environ[name] = value
    return values
