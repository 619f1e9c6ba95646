# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := pyproject.toml $(wildcard tap-peakon/pyproject.toml target-mongo-upsert/pyproject.toml)
EDITABLES := $(foreach p,tap-peakon target-mongo-upsert,$(if $(wildcard $(p)/pyproject.toml),-e ./$(p)))
ARGS ?=

.PHONY: venv test lint demo bench clean

$(STAMP): $(PACKAGES)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLES) -e '.[dev]'
	touch $@

venv: $(STAMP)

test: venv
	$(BIN)/python -m pytest $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy peakon_ingest tests bench conftest.py $(wildcard tap-peakon/tap_peakon target-mongo-upsert/target_mongo_upsert)

demo: venv
	$(BIN)/python -m peakon_ingest.demo $(ARGS)

bench: venv
	$(BIN)/python bench/simulator.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
