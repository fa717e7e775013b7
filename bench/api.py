"""The API under load: GET /api/v1/slices/{id}/ with an API key, against a bare Django view.

One gunicorn (two sync workers, on loopback) serves both, from bench/urls.py: the site's
URLs plus /bench/bare, which answers a constant JSON body through the same middleware.
The load generator (wrk; a Python one where wrk cannot be had) keeps the same number of
connections open on each for a fixed time, after a warm-up; the two alternate, so a burst
of load from elsewhere on the machine hits both sides of the ratio.

The server runs as in production but for two settings: DEBUG off and logging at WARNING
(a request line at INFO would dominate a request this small), and a read throttle no run
reaches, counted in Redis as in production.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

from bench.machine import load_note
from bench.measure import Figure, Report, Target
from bench.serving import gunicorn_serving

BASE_DIR = Path(__file__).resolve().parent.parent
OUTPUT_DIR = BASE_DIR / "var" / "bench"

WORKERS = 2
CONNECTIONS = 4  # two per worker: a worker never waits for the generator to send the next request
SECONDS = 8
WARM_UP_SECONDS = 2
REPEATS = 3
THROTTLE = "1000000/min"
BARE_PATH = "/bench/bare"
# Beyond any id a test database reaches: the throttle counts per key id in the shared test
# Redis, and a test's key 1 must not inherit this run's history.
KEY_ID = 900_000_001


def run():
    token, slice_id, _ = api_client_and_slice()
    api_path = f"/api/v1/slices/{slice_id}/"
    headers = {"Authorization": f"Bearer {token}"}
    generator = load_generator()
    notes = [f"load generator: {generator.name}, {CONNECTIONS} connections, {SECONDS} s per run "
             f"after {WARM_UP_SECONDS} s of warm-up each; gunicorn --workers {WORKERS} (sync)",
             load_note("at the start")]
    drf_path = f"/bench/drf/{slice_id}"
    rates = {"api": [], "drf": [], "bare": []}
    paths = {"api": api_path, "drf": drf_path, "bare": BARE_PATH}
    with gunicorn_serving(name="api", workers=WORKERS, timeout=120, env=server_settings()) as port:
        check_answers(port, api_path, headers, slice_id)
        for path in paths.values():
            generator.load(port, path, headers, WARM_UP_SECONDS)
        for repeat in range(REPEATS):
            # Rotate which goes first, so none always runs on a machine warmed by the others.
            order = list(paths)[repeat % 3:] + list(paths)[:repeat % 3]
            for name in order:
                rates[name].append(generator.load(port, paths[name], headers, SECONDS))
            print(f"  API {rates['api'][-1]:.0f} req/s, DRF floor {rates['drf'][-1]:.0f} req/s, "
                  f"bare view {rates['bare'][-1]:.0f} req/s")
    notes.append(load_note("at the end"))
    api, drf, bare = rates["api"], rates["drf"], rates["bare"]

    report = Report(
        figures=[
            Figure.median("api_slice_detail_rps", api, "req/s", "GET /api/v1/slices/{id}/, Bearer key"),
            Figure.median("drf_floor_rps", drf, "req/s", "the same slice by pk, plain DRF serializer, same server"),
            Figure.median("bare_view_rps", bare, "req/s", "constant JSON body, same server"),
        ],
        targets=[],
        notes=notes,
    )
    api_rps, bare_rps = report.figure("api_slice_detail_rps"), report.figure("bare_view_rps")
    drf_rps = report.figure("drf_floor_rps")
    report.targets = [
        Target("api_at_least_0_6_drf_floor", "API at least 0.6x the DRF floor's throughput",
               f"{api_rps / drf_rps:.2f}x the DRF floor", api_rps >= 0.6 * drf_rps),
        Target("api_at_least_quarter_bare", "API at least 0.25x the bare view's throughput",
               f"{api_rps / bare_rps:.2f}x the bare view", api_rps >= 0.25 * bare_rps),
    ]
    return report


# --- What is served --------------------------------------------------------------

def api_client_and_slice():
    """(the key's plaintext, a ready slice of the key's organisation, the key's id)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.api_keys import api_key_create
    from accounts.models import ApiKey
    from bench.licensees import applicant, research_licence
    from licensing.models import Slice, SliceStatus

    user = applicant()
    licence = research_licence(user, max_assets=100_000)
    now = timezone.now()
    slice_ = Slice.objects.create(
        licence=licence, number=1, phase=licence.phase, filters={"kind": "image", "min_width": 1024}, seed=7,
        size_requested=10_000, reserved_assets=0, status=SliceStatus.READY, progress=100, asset_count=10_000,
        total_bytes=41_000_000_000, requested_by=user, started_at=now - timedelta(minutes=2), finished_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)",
                       [ApiKey._meta.db_table, KEY_ID])
    key, token = api_key_create(organisation=user.membership.organisation, by=None, name="Bench pipeline",
                                scopes=["slices:read"])
    return token, slice_.pk, key.pk


def server_settings():
    """Logging at WARNING (a request line at INFO would dominate a request this small), the bench
    URLs with the bare view, and a read throttle no run reaches, counted in Redis as in production."""
    return {
        "LOG_LEVEL": "WARNING", "ROOT_URLCONF": "bench.urls", "API_THROTTLE_READ": THROTTLE,
        "REDIS_URL": os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/13",
    }


def check_answers(port, api_path, headers, slice_id):
    status, body = _get(port, api_path, headers)
    if status != 200 or json.loads(body).get("id") != slice_id:
        raise RuntimeError(f"GET {api_path} answered {status}: {body[:300]!r}")
    status, body = _get(port, BARE_PATH, headers)
    if status != 200:
        raise RuntimeError(f"GET {BARE_PATH} answered {status}: {body[:300]!r}; is ROOT_URLCONF bench.urls?")


def _get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- The load generators ---------------------------------------------------------

def load_generator():
    wrk = shutil.which("wrk")
    if wrk is None:
        print("  wrk is missing: apt-get install -y wrk")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, text=True)
        wrk = shutil.which("wrk")
    if wrk is None:
        print("  wrk could not be installed: the Python load generator runs instead")
        return PythonLoad()
    return Wrk(wrk)


class Wrk:
    name = "wrk (1 thread)"

    def __init__(self, path):
        self.path = path

    def load(self, port, path, headers, seconds):
        """Requests per second, every answer a 2xx."""
        command = [self.path, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                              timeout=seconds + 60)
        out = done.stdout
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if done.returncode != 0 or rate is None:
            raise RuntimeError(f"wrk failed on {path}:\n{out}\n{done.stderr}")
        if bad := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
            raise RuntimeError(f"wrk got {bad.group(1)} answers that were not 2xx from {path}:\n{out}")
        if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
            # gunicorn's sync workers close every connection after answering; wrk counts some of
            # those closes as read errors. Timeouts and refused connects are real failures.
            if int(errors.group(1)) or int(errors.group(4)):
                raise RuntimeError(f"wrk could not connect, or timed out, on {path}:\n{out}")
        return float(rate.group(1))


class PythonLoad:
    """CONNECTIONS threads, each sending requests one after another for `seconds`.

    It shares the CPUs with gunicorn and holds the GIL while parsing answers, so it slows
    the faster side more: a ratio measured with it is a floor of the true ratio's.
    """

    name = "Python threads with http.client"

    def load(self, port, path, headers, seconds):
        stop = time.monotonic() + seconds
        done, failed = [0] * CONNECTIONS, [0] * CONNECTIONS

        def client(n):
            conn = None
            while time.monotonic() < stop:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        done[n] += 1
                    else:
                        failed[n] += 1
                    if response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException):
                    failed[n] += 1
                    if conn is not None:
                        conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if sum(failed):
            raise RuntimeError(f"{sum(failed)} requests to {path} failed or were not answered 200")
        return sum(done) / elapsed
