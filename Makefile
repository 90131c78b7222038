# Quick start: `make demo` and `make test`; each does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean system-packages

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

# The suite's PostgreSQL tests start a throwaway server from Debian's postgresql package,
# and its browser tests drive Debian's chromium (Playwright never downloads a browser).
# Installed here when missing and apt-get can; otherwise those tests are skipped, saying why.
system-packages:
	@for pkg in postgresql chromium; do \
	  case $$pkg in postgresql) present="$$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)";; \
	                chromium) present="$$(command -v chromium 2>/dev/null)";; esac; \
	  if [ -z "$$present" ]; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	      echo "installing $$pkg (Debian package) for the tests"; \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkg >/dev/null) \
	        || echo "$$pkg could not be installed; its tests will be skipped"; \
	    else echo "$$pkg is not installed (apt-get as root is needed); its tests will be skipped"; fi; \
	  fi; \
	done

# ruff and mypy under pyproject.toml's own configuration: 0 findings, or the suite does not start.
lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/mypy

test: system-packages $(VENV)/.test-installed lint
	$(BIN)/python -m pytest

bench: $(VENV)/.test-installed
	$(BIN)/python bench/bench_solver.py
	$(BIN)/python bench/bench_graph.py
	$(BIN)/python bench/bench_graph_fuzz.py
	$(BIN)/python bench/bench_cli_solve.py
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_grading.py
	$(BIN)/python bench/bench_service.py
	$(BIN)/python bench/bench_client.py

clean:
	rm -rf $(VENV) build dist *.egg-info
