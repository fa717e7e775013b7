"""Both runtimes' settings, checked in fresh processes as a deployment would start them."""
import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
    " 'eager': s.CELERY_TASK_ALWAYS_EAGER, 'cache': s.CACHES['default']['BACKEND'], 'email': s.EMAIL_BACKEND,"
    " 'media': str(s.MEDIA_ROOT)}))"
)


def run(code_or_args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in {
        "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
        "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "STATIC_MANIFEST"}}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_secret_key():
    result = run(PRINT_SETTINGS, DEBUG="0", ALLOWED_HOSTS="tessera.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run(PRINT_SETTINGS, DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_check_deploy_reports_nothing_with_production_settings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY="k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP",
        ALLOWED_HOSTS="tessera.example",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/tessera-check.sqlite3"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_embedded_default_needs_nothing_but_python():
    result = run(PRINT_SETTINGS, DEBUG="1")
    assert result.returncode == 0, result.stderr
    embedded = json.loads(result.stdout.strip().splitlines()[-1])
    assert embedded["engine"] == "django.db.backends.sqlite3"
    assert embedded["name"] == str(BASE_DIR / "var" / "tessera.sqlite3")
    assert embedded["eager"] is True, "without a broker, tasks run in-process"
    assert embedded["cache"].endswith("LocMemCache")
    assert embedded["email"] == "django.core.mail.backends.console.EmailBackend"
    assert embedded["media"] == str(BASE_DIR / "var" / "media")


def test_full_stack_settings_use_postgresql_redis_and_a_broker():
    result = run(
        PRINT_SETTINGS, DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="tessera.example",
        DATABASE_URL="postgres://postgres@db:5432/tessera", REDIS_URL="redis://redis:6379/0",
        CELERY_BROKER_URL="redis://redis:6379/1",
    )
    assert result.returncode == 0, result.stderr
    full = json.loads(result.stdout.strip().splitlines()[-1])
    assert full["engine"] == "django.db.backends.postgresql"
    assert full["eager"] is False
    assert full["cache"].endswith("RedisCache")


def test_a_refused_request_is_logged_in_one_line_without_a_traceback(client, django_user_model):
    import io
    import logging

    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    original = handler.stream
    handler.setStream(stream)
    try:
        user = django_user_model.objects.create_user(email="nobody@example.com", password="pw-for-tests-123")
        client.force_login(user)
        assert client.get("/review/").status_code == 403
    finally:
        handler.setStream(original)
    logged = stream.getvalue()
    assert "Forbidden" in logged
    assert "Traceback" not in logged and "PermissionDenied" not in logged
