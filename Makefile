# Tessera. `make run` serves the whole product on http://127.0.0.1:8000; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
ROOT := $(shell id -u)

.PHONY: install install-test system-test-deps run migrate admin cluster test lint check-lock lock messages clean

install: $(VENV)/.installed

# Debian's python3 lacks venv/ensurepip unless python3-venv is installed: add it when we are root.
$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  if [ "$(ROOT)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "Install python3-venv (apt-get install python3-venv) and run make again."; exit 1; fi; \
	  $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: requirements.lock $(VENV)/bin/python
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet --require-hashes --no-deps -r requirements.lock
	@touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: requirements-test.lock $(VENV)/.installed
	$(PIP) install --quiet --require-hashes --no-deps -r requirements-test.lock
	@touch $@

# Debian packages the tests start for real. Installed only when run as root and missing.
SYSTEM_TEST_PACKAGES := chromium postgresql redis-server fonts-dejavu-core nginx-light janus janus-tools ffmpeg coturn nodejs
system-test-deps:
	@if [ "$(ROOT)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(SYSTEM_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "Installing$$missing from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi; \
	fi

migrate: install
	$(MANAGE) migrate --noinput

run: migrate
	@$(MANAGE) serve --host $(HOST) --port $(PORT)

admin: migrate
	$(MANAGE) createsuperuser

# Two app nodes, a task worker, nginx, Redis, PostgreSQL and two Janus on loopback (docs/scaling.md).
cluster: install system-test-deps
	@deploy/cluster.sh

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-test system-test-deps lint
	$(MANAGE) makemigrations --check --dry-run --settings=tessera.settings.test >/dev/null
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Recompile the locks after editing pyproject.toml (uv is only needed for this).
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --no-header -o requirements.lock
	uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 --no-header \
	  -c requirements.lock --override tools/lock-overrides.txt -o requirements-test.lock

messages: install
	cd tessera && ../$(PY) ../manage.py makemessages -l fr -l en --no-obsolete --ignore=static/tessera/vendor/*
	cd tessera && ../$(PY) ../manage.py makemessages -d djangojs -l fr -l en --no-obsolete --ignore=static/tessera/vendor/*
	cd tessera && ../$(PY) ../manage.py compilemessages

clean:
	rm -rf $(VENV) var
