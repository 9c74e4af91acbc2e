# fraud-mlops: `make run` starts the platform on embedded defaults, `make test` runs the suite.
SHELL := /bin/bash
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
export DO_NOT_TRACK := 1
export BENTOML_DO_NOT_TRACK := true
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
export PATH := $(dir $(UV)):$(PATH)  # `bentoml build` (and its test) calls uv by name
PYTEST_ARGS ?=

.PHONY: demo run test lint format bench audit-ui install uv clean

uv:  # a machine without uv gets it from PyPI into .tools/ (no user or system site needed)
	@[ -x "$(UV)" ] || python3 -m pip install --quiet --target $(CURDIR)/.tools uv

install: uv  # compiled: under PYTHONDONTWRITEBYTECODE each process compiled its imports
	@$(UV) sync --locked --quiet --compile-bytecode
	@$(UV) run --locked python -m compileall -q fraud_core fraud_assets fraud_serving

run: install
	@$(UV) run python -m fraud_assets.platform

demo: install  # against a running `make run` (same FRAUD_API_KEY): the whole loop, live
	@$(UV) run fraudops demo --loop

test: install lint
	$(UV) run pytest -n 2 --dist loadfile --timeout=900 --durations=15 $(PYTEST_ARGS)

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .

format: install
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(UV) run python $$b || exit 1; done

audit-ui: install
	$(UV) run dagster-webserver --read-only -h 0.0.0.0 -p 3003 -w workspace.yaml

clean:
	rm -rf var .pytest_cache .ruff_cache
