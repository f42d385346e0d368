# The README's two commands: `make run` and `make test`. Each sets up what it needs first.
PYTHON ?= python3.11
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test setup

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

# API + admin (gunicorn, as in production) and a real Celery worker, on SQLite and the
# filesystem broker under ./var/. Ctrl-C stops both.
run: setup
	@echo
	@echo "  API:    http://$(HOST):$(PORT)/api/articles/"
	@echo "  Docs:   http://$(HOST):$(PORT)/api/docs/"
	@echo "  Admin:  http://$(HOST):$(PORT)/admin/   (create a login: $(BIN)/python manage.py createsuperuser)"
	@echo
	@bash -c 'trap "trap \"\" TERM; kill -TERM 0; wait" EXIT; \
	  $(BIN)/celery -A config worker --beat --loglevel INFO --concurrency 2 & \
	  $(BIN)/gunicorn -c config/gunicorn.py -b $(HOST):$(PORT) --access-logfile - config.wsgi'

# The browser test drives Debian's Chromium: installed here when we may (root, or sudo without a
# password); otherwise that one test skips and says so (and fails with CI=true).
test: $(INSTALLED)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get install -y -q chromium >/dev/null; \
	  else echo "NOTE: no chromium and no root to install it: the browser test will skip"; fi; }
	$(BIN)/python -m pytest
