# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := pyproject.toml tap-peakon/pyproject.toml target-mongo-upsert/pyproject.toml peakon-simulator/pyproject.toml
# The suites `make test` runs, each in a pytest process of its own (`pytest` at the root runs them all
# in one); the tiers in order, each timed (the root conftest.py says which file is in which).
SUITES ?= peakon-simulator/peakon_simulator_tests tap-peakon/tap_peakon_tests target-mongo-upsert/target_mongo_upsert_tests tests
TIERS ?= unit integration system
ARGS ?=

MELTANO_VENV := .venv-meltano
MELTANO_STAMP := $(MELTANO_VENV)/.installed-stamp
INTEROP_VENVS := .venv-interop

.PHONY: venv meltano-venv interop-venvs test lint demo web bench bench-simulator mutants lock vendor container-test clean

$(STAMP): $(PACKAGES)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./tap-peakon -e ./target-mongo-upsert -e ./peakon-simulator -e '.[dev]'
	touch $@

venv: $(STAMP)

# Meltano lives in a virtual environment of its own: it installs the plugins into theirs.
$(MELTANO_STAMP):
	$(PY) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MELTANO_VENV)/bin/python -m pip install --quiet 'meltano>=4.4'
	touch $@

meltano-venv: $(MELTANO_STAMP)

# Third-party Singer plugins the interoperability suite (tests/interop) pipes ours with, each in a venv
# of its own under .venv-interop/, pinned in tests/interop/plugins.py (reinstalled when a pin changes).
interop-venvs: venv
	INTEROP_VENVS=$(abspath $(INTEROP_VENVS)) $(BIN)/python -m tests.interop.plugins

# A suite with no test in a tier (pytest's exit code 5) is not a failure.
test: venv meltano-venv interop-venvs
	set -e; for tier in $(TIERS); do \
	  start=$$(date +%s); \
	  for suite in $(SUITES); do \
	    MELTANO_BIN=$(abspath $(MELTANO_VENV))/bin/meltano INTEROP_VENVS=$(abspath $(INTEROP_VENVS)) \
	      $(BIN)/python -m pytest -m $$tier $$suite $(ARGS) || [ $$? -eq 5 ]; \
	  done; \
	  echo "== $$tier tier: passed in $$(( $$(date +%s) - start )) s"; \
	done

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy conftest.py peakon_ingest tests bench mutants
	cd tap-peakon && ../$(BIN)/mypy --config-file ../pyproject.toml tap_peakon tap_peakon_tests
	cd target-mongo-upsert && ../$(BIN)/mypy --config-file ../pyproject.toml target_mongo_upsert target_mongo_upsert_tests
	cd peakon-simulator && ../$(BIN)/mypy --config-file ../pyproject.toml peakon_simulator peakon_simulator_tests
	$(BIN)/hadolint Dockerfile

demo: venv
	$(BIN)/python -m peakon_simulator.demo $(ARGS)

# The demo, then its pages served at http://127.0.0.1:8080 with a printed user and password (Ctrl-C stops).
web: venv
	$(BIN)/python -m peakon_simulator.demo --serve $(ARGS)

# Figures, not pass/fail: ours vs naive vs the raw limit (bench/results/latest.json).
bench: venv
	$(BIN)/python -m bench.run $(ARGS)

# Break one critical behaviour at a time, run the tests that guard it, print a table (minutes).
mutants: venv meltano-venv
	MELTANO_BIN=$(abspath $(MELTANO_VENV))/bin/meltano $(BIN)/python -m mutants.run $(ARGS)

bench-simulator: venv
	$(BIN)/python -m bench.simulator $(ARGS)

# docker-compose.yml on a real Docker engine, offline (tests/container): installs and starts what it
# needs as root; prints one line and passes where no engine can run.
container-test: venv
	$(BIN)/python -m tests.container.run $(ARGS)

# The image's dependencies, pinned with hashes (installed with --require-hashes); after changing any.
lock: venv
	$(BIN)/python -m peakon_ingest.devtools.requirements > deploy/requirements.in
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --output-file deploy/requirements.lock deploy/requirements.in

# The vendored JavaScript (ECharts for the pages, axe-core for the tests) again from the npm registry, at
# the versions and checksums pinned in peakon_ingest/devtools/vendored.py (refused when they differ).
vendor: venv
	$(BIN)/python -m peakon_ingest.devtools.vendored $(ARGS)

clean:
	rm -rf $(VENV) $(MELTANO_VENV) $(INTEROP_VENVS) .meltano .pytest_cache .mypy_cache .ruff_cache .container-test
