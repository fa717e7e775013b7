# Tessera: `make demo` serves the embedded default; `make test` runs the suite on PostgreSQL and Redis.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# The production engines for the suite: PostgreSQL and Redis on their standard local ports.
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz \
	ALLOWED_HOSTS=testserver,localhost,127.0.0.1 SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 \
	CSRF_COOKIE_SECURE=0 STATIC_MANIFEST=0 WHITENOISE_USE_FINDERS=1 LOG_LEVEL=WARNING \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tessera} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/13} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/14} \
	CELERY_QUEUE=tessera-test

DEMO_ENV = DEBUG=1 SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)}

.PHONY: demo serve test install install-dev services browser bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt clients/python/pyproject.toml
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet -e ./clients/python
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	mkdir -p var
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py seed_demo
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

services:
	bash scripts/ensure-services.sh

browser:
	bash scripts/ensure-browser.sh

test: install-dev services browser
	mkdir -p var/static
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev services
	$(TEST_ENV) $(PY) bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) var
