"""Catalogue ingest at scale: a 1,000,000-row feed against generate_catalog of the same size.

- `generate_1m_rows_per_s`: manage.py generate_catalog --assets 1000000 (COPY straight into the asset
  table, its foreign key checked once), the floor for writing that many rows;
- `ingest_1m_rows_per_s`: the ingest job (ingest_run_execute) over a CSV feed of 1,000,000 new works by
  100,000 contributors in 100 collections, 1,000 of them with two rightsholders: read, checked,
  COPY'd into staging and upserted, on top of the generated catalogue;
- `ingest_1m_repeat_rows_per_s`: the same feed again, which must change nothing.
The target: at least 100,000 rows/s. The bench database is dropped afterwards.
"""
import csv
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.measure import Figure, Report, Target

BASE_DIR = Path(__file__).resolve().parent.parent
OUTPUT_DIR = BASE_DIR / "var" / "bench"

ROWS = 1_000_000
CONTRIBUTORS = 100_000
COLLECTIONS = 100
WITH_RIGHTSHOLDERS = 1_000
HEADER = ["external_id", "kind", "title", "tags", "width", "height", "duration_seconds", "bytes", "mime_type",
          "sha256", "storage_key", "contributor_external_id", "contributor_name", "collection", "rightsholders"]
TAGS = ["people", "city", "nature", "animals", "food", "sport", "night", "interior", "aerial", "vehicle"]


def write_feed(path, *, seed=1):
    rng = random.Random(seed)
    getrandbits = rng.getrandbits
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(ROWS):
            r = getrandbits(64)
            contributor = r % CONTRIBUTORS
            sha = f"{getrandbits(256):064x}"
            collection = f"Collection {r % COLLECTIONS}" if (r >> 20) % 4 == 0 else ""
            rights = ""
            if n < WITH_RIGHTSHOLDERS:
                other = (contributor + 1) % CONTRIBUTORS
                rights = f"contributor:B-{contributor}=60|contributor:B-{other}=40"
            tags = f"{TAGS[(r >> 30) % 10]}|{TAGS[(r >> 34) % 10]}"
            if (r >> 40) % 10 == 0:
                writer.writerow([f"X-{n}", "video", f"Clip {n}", tags, 1920, 1080, 2 + (r >> 44) % 11800 / 100,
                                 2_000_000 + (r >> 20) % 198_000_000, "video/mp4", sha, "", f"B-{contributor}",
                                 f"Contributor B-{contributor}", collection, rights])
            else:
                writer.writerow([f"X-{n}", "image", f"Photo {n}", tags, 1920, 1080, "",
                                 100_000 + (r >> 20) % 7_900_000, "image/jpeg", sha, "", f"B-{contributor}",
                                 f"Contributor B-{contributor}", collection, rights])


def generate_rate():
    done = subprocess.run(
        [sys.executable, "manage.py", "generate_catalog", "--assets", str(ROWS), "--contributors", str(CONTRIBUTORS),
         "--opt-out-rate", "0.01", "--seed", "1"], cwd=BASE_DIR, check=True, capture_output=True, text=True)
    print(f"  {done.stdout.strip()}")
    match = re.search(r"in ([0-9.]+) s", done.stdout)
    return ROWS / float(match.group(1))


class PhaseClock:
    """Where the ingest's time goes: reading the feed with its staging COPY (the server takes each block while
    the next is read), contributors and collections, the works' upsert, rightsholders and the foreign-key
    check, timed by wrapping the service's functions."""

    PHASES = {"_stage": "reading and staging COPY", "_upsert_parties": "contributors and collections",
              "_upsert": "works upsert", "_replace_rightsholders": "rightsholders"}

    def __init__(self):
        self.seconds = dict.fromkeys([*self.PHASES.values(), "keys and indexes put back"], 0.0)

    def __enter__(self):
        from licensing.services import catalogue

        self.saved = {name: getattr(catalogue, name) for name in self.PHASES}
        self.saved_exit = catalogue._BulkLoad.__exit__
        for name, label in self.PHASES.items():
            setattr(catalogue, name, self._timed(label, self.saved[name]))
        catalogue._BulkLoad.__exit__ = self._timed("keys and indexes put back", self.saved_exit)
        return self

    def __exit__(self, *exc):
        from licensing.services import catalogue

        for name, function in self.saved.items():
            setattr(catalogue, name, function)
        catalogue._BulkLoad.__exit__ = self.saved_exit

    def _timed(self, label, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
        return timed

    def describe(self, total):
        parts = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in self.seconds.items())
        return f"{parts}; the rest of {total:.1f} s is the other statements"


def timed_ingest(feed_path):
    from django.core.files.storage import default_storage

    from licensing.services.catalogue import ingest_run_create, ingest_run_execute

    with feed_path.open("rb") as upload:
        run = ingest_run_create(upload=upload, by=None, file_name="bench-feed.csv", schedule=False)
    clock = PhaseClock()
    try:
        with clock:
            started = time.perf_counter()
            run = ingest_run_execute(run_id=run.pk)
            seconds = time.perf_counter() - started
    finally:
        default_storage.delete(run.storage_key)
    print(f"    {clock.describe(seconds)}")
    run.phases = clock.describe(seconds)
    if run.status not in ("done", "verifying") or run.rows != ROWS:
        raise RuntimeError(f"ingest run {run.pk} ended {run.status} with {run.rows} rows: {run.failure_reason}")
    return seconds, run


def time_reading(feed_path):
    from licensing import feeds

    started = time.perf_counter()
    with feed_path.open("rb") as stream:
        for _ in feeds.FeedReader(stream, "csv").batches():
            pass
    return time.perf_counter() - started


def run():
    from django.db import connection, connections

    from bench import database
    from licensing.models import Asset, Rightsholder

    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    feed = OUTPUT_DIR / "ingest-feed.csv"
    print("  writing the feed")
    write_feed(feed)
    try:
        generated = generate_rate()
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {Asset._meta.db_table}")
        first_s, first = timed_ingest(feed)
        print(f"  ingest {first_s:.2f} s: {first.created:,} new, {first.changed:,} changed, {first.rejected} rejected")
        again_s, again = timed_ingest(feed)
        print(f"  again  {again_s:.2f} s: {again.created:,} new, {again.changed:,} changed, "
              f"{again.unchanged:,} unchanged")
        holders = Rightsholder.objects.count()
        read_seconds = time_reading(feed)
    finally:
        feed.unlink(missing_ok=True)
    ingest_rate, repeat_rate = ROWS / first_s, ROWS / again_s
    report = Report(
        figures=[
            Figure("generate_1m_rows_per_s", generated, "rows/s", [generated], "manage.py generate_catalog, COPY"),
            Figure("ingest_1m_rows_per_s", ingest_rate, "rows/s", [ingest_rate],
                   f"ingest_run_execute of a 1M-row CSV feed, {first_s:.2f} s"),
            Figure("ingest_1m_repeat_rows_per_s", repeat_rate, "rows/s", [repeat_rate],
                   f"the same feed again, {again_s:.2f} s"),
        ],
        targets=[
            Target("ingest_at_least_100k_rows_per_s", "ingest at least 100,000 rows/s", f"{ingest_rate:,.0f} rows/s",
                   ingest_rate >= 100_000),
            Target("repeat_changes_nothing", "a second run of the same feed changes nothing",
                   f"{again.created} new, {again.changed} changed", again.created == 0 and again.changed == 0),
            Target("first_run_takes_every_row", "the first run takes every row",
                   f"{first.created:,} new, {first.rejected} rejected, {holders:,} rightsholder rows",
                   first.created == ROWS and first.rejected == 0 and holders == 2 * WITH_RIGHTSHOLDERS),
        ],
        notes=[f"ingest / generate_catalog: {ingest_rate / generated:.2f}x",
               f"first run: {first.phases}", f"second run: {again.phases}",
               f"reading alone (feeds.FeedReader, no database): {read_seconds:.1f} s"],
    )
    # The bench database holds two million rows nobody needs after this.
    connections.close_all()
    database.drop(os.environ["DATABASE_URL"])
    return report
