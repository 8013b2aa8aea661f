# stablebuild — every target does its own set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Call the interpreter explicitly: a .python-version naming a missing version silently falls
# back to another Python under pyenv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BASE_TAG ?= stablebuild/airgap:bookworm
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
STAMP := $(VENV)/.installed

.PHONY: help venv schemas engine base history-deps registry test test-unit test-integration lint format demo bench bench-quick clean

help:
	@echo "make demo   validate the reference stack (sets up venv, engine, base image)"
	@echo "make test   run the whole test suite (sets up venv, engine, base image)"
	@echo "make lint   ruff format --check, ruff check, mypy --strict"
	@echo "make bench  benchmarks in bench/ (results in bench/results/)"

EXAMPLE_LOCK := examples/ffmpeg-api/docker/requirements-stable.txt

# The dev venv also holds the reference stack's exact lock: its service tests run in-process.
$(STAMP): pyproject.toml $(EXAMPLE_LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -r $(EXAMPLE_LOCK)
	touch $(STAMP)

venv: $(STAMP)

# Consumers' schemas the format tests validate against (fetched from PyPI, not committed).
schemas: venv
	@scripts/fetch-schemas.sh

engine:
	@scripts/ensure-engine.sh

base: venv engine
	@$(BIN)/stablebuild base bootstrap --tag $(BASE_TAG) --ca-bundle $(CA_BUNDLE)

# The history tests start their own PostgreSQL cluster; the HTML report test renders in Chromium.
history-deps:
	@scripts/ensure-postgres.sh
	@scripts/ensure-chromium.sh

# The release tests push to a real registry on loopback (Debian's docker-registry).
registry:
	@scripts/ensure-registry.sh

test: venv schemas engine base history-deps registry
	$(BIN)/pytest -q tests

test-unit: venv schemas
	$(BIN)/pytest -q tests/unit

test-integration: venv engine base
	$(BIN)/pytest -q -m docker tests/integration

lint: venv
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

# The main job: validate the reference stack from the air-gapped base. `doctor` reports the
# registry as unreachable here, which is expected, so its exit code does not stop the demo.
demo: venv engine base
	-$(BIN)/stablebuild doctor
	$(BIN)/stablebuild audit examples/ffmpeg-api --fail-on error
	$(BIN)/stablebuild validate examples/ffmpeg-api --profile airgap \
		-o json:stablebuild-report.json -o markdown:stablebuild-report.md

bench: venv engine base
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

bench-quick: venv engine base
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
