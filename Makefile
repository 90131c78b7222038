# Quick start: `make demo` and `make test`; each does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean system-packages axe

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

# The suite's PostgreSQL tests start a throwaway server from Debian's postgresql package
# (and, for several servers, Debian's pgbouncer in front of it), and its browser tests drive
# Debian's chromium (Playwright never downloads a browser).
# Installed here when missing and apt-get can; otherwise those tests are skipped, saying why.
system-packages:
	@for pkg in postgresql pgbouncer chromium; do \
	  case $$pkg in postgresql) present="$$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)";; \
	                pgbouncer) present="$$(command -v pgbouncer 2>/dev/null || ls /usr/sbin/pgbouncer 2>/dev/null)";; \
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

# axe-core (npm) for the accessibility tests of the students' page and the report.
axe: $(VENV)/.test-installed
	@$(BIN)/python -m tests.axe || echo "axe-core could not be installed from npm; its tests will be skipped"

test: system-packages $(VENV)/.test-installed lint axe
	$(BIN)/python -m pytest

# Every bench/bench_*.py in its full mode (make test runs each with --quick: tests/test_benches.py).
bench: $(VENV)/.test-installed
	@set -e; for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) build dist *.egg-info
