# The README's two commands: `make run` and `make test`. Each sets up what it needs first.
# The first supported Python that runs (pyproject.toml: 3.11 to 3.13; CI runs 3.11), or
# `make run PYTHON=python3.12`.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	$$p -c '' 2>/dev/null && { echo $$p; break; }; done)
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Tests run in parallel, each file's tests in one process (a module's fixtures, a trained model
# or a running stack, are set up once): `make test` on one process more than there are cores, as
# the end-to-end tests spend much of their time waiting on the servers they start.
TEST_PROCESSES ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

.PHONY: run test test-fast setup port-free

# Re-installs when pyproject.toml changes.
$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	@$(BIN)/python manage.py train_classifier --if-missing || echo "WARNING: no spam model could \
	be trained (see above), so every comment will be held for a moderator."
	@$(BIN)/python manage.py train_abuse_model --if-missing || echo "WARNING: no abuse model \
	could be trained (see above), so no comment is held for abuse."

# API + admin (gunicorn, as in production) and a real Celery worker, on SQLite and the
# filesystem broker under ./var/. harness/run.py starts and stops both: Ctrl-C, SIGTERM, or
# SIGINT to make's own process (which make does not pass on).
run: port-free setup
	@echo
	@echo "  Demo:   http://$(HOST):$(PORT)/"
	@echo "  API:    http://$(HOST):$(PORT)/api/articles/   (docs: /api/docs/)"
	@echo "  Admin:  http://$(HOST):$(PORT)/admin/   (a login: see the README)"
	@echo
	@exec $(BIN)/python harness/run.py $(HOST):$(PORT)

port-free:
	@$(PYTHON) -c 'import socket; s = socket.socket(); \
	  s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("$(HOST)", $(PORT)))' \
	  2>/dev/null || { echo "Port $(PORT) on $(HOST) is in use: pick another, e.g. make run PORT=8001"; exit 1; }

# The browser tests drive Debian's Chromium: installed here when we may (root, or sudo without a
# password); otherwise they skip and say so (and fail with CI=true). The accessibility check is
# axe-core from the npm registry (tests/a11y/package-lock.json), injected into that Chromium.
test: $(INSTALLED)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get install -y -q chromium >/dev/null; \
	  else echo "NOTE: no chromium and no root to install it: the browser test will skip"; fi; }
	@command -v npm >/dev/null && npm ci --prefix tests/a11y --no-audit --no-fund --silent || \
	  echo "NOTE: no npm to install axe-core: the accessibility test will skip"
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile

# The inner loop: everything but the end-to-end tests that start real servers, on every core.
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest -m "not e2e" -n auto --dist loadfile -x -q

