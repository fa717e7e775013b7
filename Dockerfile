FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The fonts invoice PDFs embed: Latin, Arabic, Hebrew and emoji (scripts/ensure-fonts.sh on a developer's machine).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-core fonts-dejavu-core fonts-symbola \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The translations, compiled with Babel as `make install` does.
RUN if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then python -m babel.messages.frontend compile -d locale -D django; fi
# collectstatic needs settings that would otherwise refuse to load without a real key.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdefghijklmnop ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --create-home tessera && mkdir -p /app/var && chown -R tessera /app/var
USER tessera
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
