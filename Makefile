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

.PHONY: demo serve test install install-dev services browser fonts messages compilemessages bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The translations (locale/<lang>/LC_MESSAGES/django.po) compiled to .mo with Babel: Python only, no GNU
# gettext needed, on every install, so that the demo and the suite read the catalogues as committed.
compilemessages: $(VENV)/.installed
	if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then \
		$(PY) -m babel.messages.frontend compile --statistics -d locale -D django; fi

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt clients/python/pyproject.toml
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet -e ./clients/python
	touch $@

install: $(VENV)/.installed compilemessages
install-dev: $(VENV)/.installed-dev compilemessages

# The catalogues translators fill: every string the code and templates mark, without source locations
# (so that a moved line does not rewrite the catalogue). Needs GNU gettext (xgettext, msgmerge).
messages: install
	$(PY) manage.py makemessages -l de -l it -l ar --no-obsolete --no-location \
		--ignore "var/*" --ignore "tests/*" --ignore "clients/*" --ignore "bench/*" --ignore "docs/*" --ignore "static/*"

demo: install
	mkdir -p var
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py seed_demo
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

services:
	bash scripts/ensure-services.sh

browser:
	bash scripts/ensure-browser.sh

fonts:
	bash scripts/ensure-fonts.sh

test: install-dev services browser fonts
	mkdir -p var/static
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev services
	$(TEST_ENV) $(PY) bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) var
