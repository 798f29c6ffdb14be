# Two commands do everything on a fresh machine:
#   make demo   set up .venv, serve the bundled news site on loopback, crawl it into archive/
#   make test   set up .venv, lint, run the test suite
#   make bench  throughput against trafilatura's CLI and wget (see bench/README.md)
#   make replay replay ARCHIVE_DIR (default archive/) in pywb, from a virtualenv of its own
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# pywb and py-wacz pin dependencies Scrapy cannot share (brotli, ...): their own venv.
REPLAY_VENV ?= .venv-replay
ARCHIVE_DIR ?= archive
PORT ?= 8080
CHROMIUM ?= chromium
export CHROMIUM  # the tests start the same binary

.PHONY: demo test lint bench clean replay replay-env browser redis

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m tests.support.demo

lint: $(VENV)/.installed
	$(PY) -m ruff check crawler tests bench
	$(PY) -m ruff format --check crawler tests bench
	# the import rules of the layout (pyproject.toml [tool.importlinter])
	$(VENV)/bin/lint-imports

$(REPLAY_VENV)/.installed:
	$(PYTHON) -m venv $(REPLAY_VENV)
	$(REPLAY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(REPLAY_VENV)/bin/python -m pip install --quiet "pywb>=2.8,<3" "wacz>=0.5,<1"
	touch $@

replay-env: $(REPLAY_VENV)/.installed

replay: $(VENV)/.installed replay-env
	$(VENV)/bin/scrapy replay $(ARCHIVE_DIR) --port $(PORT)

# Headless Chromium for the replay, report and CAPTURE=browser tests, and for CAPTURE=browser
# crawls (Debian's chromium package; as root this installs it, otherwise it says how).
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "The replay tests need Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

# redis-server for the distributed-job tests (Debian's package; as root this installs it).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else echo "The distributed-job tests need redis-server: sudo apt-get install redis-server" >&2; exit 1; fi; }

# The replay tests drive pywb and py-wacz from their venv, and headless Chromium (as do the
# CAPTURE=browser tests, and the screenshot comparisons need Pillow, in .[test]); the
# distributed-job tests a redis-server.
test: lint replay-env browser redis
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) $(REPLAY_VENV) .pytest_cache .ruff_cache *.egg-info test-artifacts
