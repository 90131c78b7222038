# Quick start: `make demo` and `make test`; each does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files re-run the install when pyproject.toml changes.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[keras]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/quizgen demo

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

bench: $(VENV)/.test-installed
	$(BIN)/python bench/bench_solver.py
	$(BIN)/python bench/bench_graph.py
	$(BIN)/python bench/bench_cli_solve.py
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_grading.py
	$(BIN)/python bench/bench_service.py
	$(BIN)/python bench/bench_client.py

clean:
	rm -rf $(VENV) build dist *.egg-info
