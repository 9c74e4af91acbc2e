"""The loop, live: `fraudops demo --loop` against a running `make run` (see `command`)."""
