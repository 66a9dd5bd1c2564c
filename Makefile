# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The stamp is rebuilt whenever pyproject.toml changes, so `make` re-installs only when needed.
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow test-all dashboard workspace report

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m lab $(ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -m "not slow" $(ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(ARGS)

test-all: $(STAMP)
	$(PY) -m pytest $(ARGS)

# Terminal dashboard of a run's chain (wandb leet): make dashboard DIR=outputs/<run> (default: the newest run).
dashboard: $(STAMP)
	$(PY) -m lab.leet $(DIR)

# A W&B workspace for synced runs: make workspace ENTITY=<entity> PROJECT=<project> DIR=multirun/<date>/<time>
# (default: the newest sweep); OUT=<file.json> writes its specification instead of saving it (no network, no entity).
workspace: $(STAMP)
	$(PY) -m lab.dashboard $(if $(ENTITY),--entity $(ENTITY)) $(if $(PROJECT),--project $(PROJECT)) $(if $(OUT),--out $(OUT)) $(DIR)

# Comparison report of a sweep: make report DIR=multirun/<date>/<time> (default: the newest sweep).
report: $(STAMP)
	$(PY) -m lab.report $(DIR)
