# Two commands do everything on a fresh machine:
#   make demo   set up .venv, serve the bundled news site on loopback, crawl it into archive/
#   make test   set up .venv, lint, run the test suite
#   make bench  throughput against trafilatura's CLI and wget (see bench/README.md)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m tests.demo

lint: $(VENV)/.installed
	$(PY) -m ruff check crawler tests bench
	$(PY) -m ruff format --check crawler tests bench

test: lint
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
