"""A real server for the benchmarks that go over HTTP, and the catalogue they measure against."""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
OUTPUT_DIR = BASE_DIR / "var" / "bench"


@contextmanager
def gunicorn_serving(*, name, workers, timeout, env=None, log_dir=OUTPUT_DIR):
    """gunicorn as in production (DEBUG off, SITE_URL its own address) on a free local port, on the
    bench database, with `env` on top; yields the port. Its output goes to <log_dir>/<name>-gunicorn.log
    (var/bench/ unless told)."""
    from django.conf import settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server_env = {
        **os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0", "SITE_URL": f"http://127.0.0.1:{port}", **(env or {}),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             # No control socket: its default path is per user, and would take over another gunicorn's.
             "--workers", str(workers), "--timeout", str(timeout), "--no-control-socket"],
            cwd=BASE_DIR, env=server_env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(server, port, log_path)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(server, port, log_path):
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log_path}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
        except OSError:
            time.sleep(0.1)
            continue
        finally:
            conn.close()
        if status == 200:
            return
        raise RuntimeError(f"gunicorn answers /healthz with {status}; see {log_path}")
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")


def generate_catalogue(arguments):
    """`manage.py generate_catalog <arguments>` into the bench database, then vacuumed as in service."""
    from django.db import connection

    from licensing.models import Asset, Contributor

    print(f"  manage.py generate_catalog {' '.join(arguments)}")
    done = subprocess.run([sys.executable, "manage.py", "generate_catalog", *arguments], cwd=BASE_DIR,
                          check=True, capture_output=True, text=True)
    print(f"  {done.stdout.strip()}")
    # A catalogue in service has been vacuumed: its rows' hint bits and visibility map
    # are set. A freshly copied one has neither, and the first scan would pay for both.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Asset._meta.db_table}, {Contributor._meta.db_table}")
