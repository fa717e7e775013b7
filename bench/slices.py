"""Slices at catalogue scale: a 100,000-asset slice of a 1,000,000-asset catalogue (1% opted out).

Each figure is set against a floor or a baseline measured in the same run:
- the build job (slice_build, what the build_slice task calls) against its own
  selection as one bare SQL statement, and against a naive build in Python;
- the JSONL manifest over HTTP (gunicorn, one worker) against COPY … TO STDOUT of the
  same rows: the file the delivery job wrote (what licensees get once it has run), and the same
  manifest streamed from the database (what they get before it has, or right after a withdrawal);
  and what writing both manifests (JSONL and CSV) costs the job;
- a worker's peak memory building and writing the manifest of 10,000 vs 100,000 items.
The query plan of the selection is written beside the figures, in
var/bench/slices-selection-plan.txt.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench.measure import Figure, Report, Target, timed
from bench.serving import generate_catalogue, gunicorn_serving

BASE_DIR = Path(__file__).resolve().parent.parent
OUTPUT_DIR = BASE_DIR / "var" / "bench"
MEDIA = OUTPUT_DIR / "slices-media"  # the manifests the job writes; deleted at the end

CATALOGUE = ["--assets", "1000000", "--contributors", "100000", "--opt-out-rate", "0.01", "--seed", "1"]
SIZE = 100_000
SMALL_SIZE = 10_000
SEED = 7  # every slice uses it: each is of a new licence, so each job selects the same assets
REPEATS = 3


def run():
    from django.test import override_settings

    shutil.rmtree(MEDIA, ignore_errors=True)
    before = os.environ.get("MEDIA_ROOT")
    os.environ["MEDIA_ROOT"] = str(MEDIA)  # gunicorn and the worker script; this process by override_settings,
    try:  # which tells the storage it opened to forget its location afterwards
        with override_settings(MEDIA_ROOT=str(MEDIA)):
            return measure()
    finally:
        shutil.rmtree(MEDIA, ignore_errors=True)
        if before is None:
            os.environ.pop("MEDIA_ROOT", None)
        else:
            os.environ["MEDIA_ROOT"] = before


def measure():
    from bench.licensees import applicant

    generate_catalogue(CATALOGUE)
    user = applicant()
    notes = [f"selection plan (EXPLAIN ANALYZE, also the warm-up): {explain_selection(user)}"]

    # Interleaved, so that a burst of load on a shared machine hits both sides of the ratio.
    job, floor, statement, manifest_slice = [], [], [], None
    for _ in range(REPEATS):
        seconds, built = time_slice_job(user)
        job.append(seconds)
        manifest_slice = manifest_slice or built
        floor_seconds, statement_seconds = time_selection_sql(user)
        floor.append(floor_seconds)
        statement.append(statement_seconds)
        print(f"  slice job {seconds:.3f} s, bare SQL {floor_seconds:.3f} s "
              f"(statement {statement_seconds:.3f} s, commit {floor_seconds - statement_seconds:.3f} s)")
    commit = statistics.median(f - s for f, s in zip(floor, statement))
    notes.append(f"bare SQL: the statement {statistics.median(statement):.3f} s, its commit {commit:.3f} s "
                 "(the deferred foreign-key checks of the inserted items run at commit)")
    naive, same_selection = time_naive_build(user, expected=manifest_slice)
    print(f"  naive build {naive:.3f} s")
    notes.append("naive build picked the same assets in the same order as the job: "
                 + ("yes" if same_selection else "NO (the job's selection is not the seeded order it claims)"))

    manifest, streamed, copy, build = [], [], [], []
    for _ in range(REPEATS):
        build.append(time_manifest_build(manifest_slice))
        print(f"  manifests written (JSONL and CSV) {build[-1]:.3f} s")
    with gunicorn_serving(name="slices", workers=1, timeout=300) as port:
        for _ in range(REPEATS):
            manifest.append(time_manifest_over_http(port, manifest_slice))
            streamed.append(time_manifest_over_http(port, manifest_slice, prebuilt=False))
            copy.append(time_copy_out(manifest_slice))
            print(f"  manifest over HTTP {manifest[-1]:.3f} s (streamed {streamed[-1]:.3f} s), COPY {copy[-1]:.3f} s")

    rss_small, rss_large = [], []
    for _ in range(REPEATS):
        rss_small.append(worker_peak_rss_mb(SMALL_SIZE))
        rss_large.append(worker_peak_rss_mb(SIZE))
        print(f"  worker peak RSS {rss_small[-1]:.1f} MiB (10k), {rss_large[-1]:.1f} MiB (100k)")

    report = Report(
        figures=[
            Figure.median("slice_100k_s", job, "s", "slice_build, in-process"),
            Figure.median("slice_100k_sql_s", floor, "s", "selection_sql alone, committed"),
            Figure("slice_100k_naive_s", naive, "s", [naive], "rows into Python, sorted, bulk_create; once"),
            Figure.median("manifest_100k_jsonl_s", manifest, "s", "GET /dl/<token>/manifest.jsonl, gunicorn: "
                          "the file the job wrote"),
            Figure.median("manifest_100k_streamed_s", streamed, "s", "the same GET before the job has written it: "
                          "streamed from the database"),
            Figure.median("manifest_100k_copy_s", copy, "s", "COPY (same rows) TO STDOUT"),
            Figure.median("manifest_100k_build_s", build, "s", "slice_manifests_write: JSONL and CSV to storage"),
            Figure.median("worker_rss_10k_mb", rss_small, "MiB", "peak RSS (VmHWM), build + manifest"),
            Figure.median("worker_rss_100k_mb", rss_large, "MiB", "peak RSS (VmHWM), build + manifest"),
        ],
        targets=[],
        notes=notes,
    )
    job_s, sql_s = report.figure("slice_100k_s"), report.figure("slice_100k_sql_s")
    manifest_s, copy_s = report.figure("manifest_100k_jsonl_s"), report.figure("manifest_100k_copy_s")
    growth = report.figure("worker_rss_100k_mb") - report.figure("worker_rss_10k_mb")
    # No target against the naive build: the job is held to its own SQL, the honest floor; the naive
    # figure stays as what the set-based build is measured against in words.
    report.targets = [
        Target("job_within_1_5x_sql", "slice job within 1.5x of the bare SQL",
               f"{job_s / sql_s:.2f}x", job_s <= 1.5 * sql_s),
        Target("manifest_within_1s", "100k JSONL manifest within 1 s",
               f"{manifest_s:.3f} s ({manifest_s / copy_s:.1f}x the COPY)", manifest_s <= 1.0),
        Target("manifest_within_1_2x_copy", "100k JSONL manifest within 1.2x the COPY of its rows",
               f"{manifest_s / copy_s:.2f}x the COPY", manifest_s <= 1.2 * copy_s),
        Target("rss_growth_under_50mb", "worker RSS growth 10k -> 100k under 50 MB",
               f"{growth:+.1f} MiB", growth < 50),
    ]
    return report


# --- The build -------------------------------------------------------------------

def time_slice_job(user):
    from bench.licensees import jobs_not_dispatched, requested_slice
    from licensing.services.slices import slice_build

    slice_ = requested_slice(user, size=SIZE, seed=SEED)
    with jobs_not_dispatched():  # the shards job the build schedules is delivery's, timed there
        seconds, built = timed(lambda: slice_build(slice_id=slice_.pk))
    if built is None or built.status != "ready" or built.asset_count != SIZE:
        raise RuntimeError(f"slice_build did not make slice {slice_.pk} ready with {SIZE} items")
    return seconds, built


def time_selection_sql(user):
    from django.db import connection, transaction

    from bench.licensees import byte_budget, requested_slice
    from licensing.db import for_set_based_work
    from licensing.services.slices import selection_sql

    slice_ = requested_slice(user, size=SIZE, seed=SEED)
    sql, params = selection_sql(slice_, byte_budget(slice_.licence))

    def insert():
        with transaction.atomic(), connection.cursor() as cursor:
            for_set_based_work(cursor, work_mem="64MB")  # the job's settings, so that the floor runs the same plan
            statement, _ = timed(lambda: cursor.execute(sql, params))
            return cursor.fetchone()[0], statement

    seconds, (rows, statement) = timed(insert)
    if rows != SIZE:
        raise RuntimeError(f"selection_sql inserted {rows} rows, not {SIZE}")
    return seconds, statement


def explain_selection(user):
    """EXPLAIN (ANALYZE, BUFFERS) of a fresh slice's selection, rolled back; the path of the plan."""
    from django.db import connection, transaction

    from bench.licensees import byte_budget, requested_slice
    from licensing.services.slices import selection_sql

    slice_ = requested_slice(user, size=SIZE, seed=SEED)
    sql, params = selection_sql(slice_, byte_budget(slice_.licence))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    path = OUTPUT_DIR / "slices-selection-plan.txt"
    path.write_text(plan + "\n")
    return path.relative_to(BASE_DIR)


def time_naive_build(user, *, expected):
    """The build as one might first write it: every candidate into Python, sorted there by the same
    seeded hash, the first SIZE written with bulk_create. (seconds, whether it picked what the job did)"""
    from bench.licensees import byte_budget, requested_slice
    from licensing.models import SliceItem

    slice_ = requested_slice(user, size=SIZE, seed=SEED)
    seconds, picked = timed(lambda: naive_build(slice_, byte_budget(slice_.licence)))
    granted = list(SliceItem.objects.filter(slice=expected).order_by("position").values_list("asset_id", flat=True))
    return seconds, picked == granted


def naive_build(slice_, budget):
    from django.db import transaction

    from licensing.models import Asset, SliceItem
    from licensing.selectors.slices import rank_start

    start, licence_id = rank_start(slice_.seed), slice_.licence_id
    with transaction.atomic():
        granted = set(SliceItem.objects.filter(licence_id=licence_id).values_list("asset_id", flat=True))
        candidates = [row for row in Asset.objects.filter(contributor__opted_out=False)
                      .values_list("id", "bytes", "rank") if row[0] not in granted]
        # The slice's order: by rank from the seed's point, then from 0.
        candidates.sort(key=lambda row: (row[2] < start, row[2], row[0]))
        items, used = [], 0
        for position, (asset_id, size, _) in enumerate(candidates[:slice_.size_requested], start=1):
            used += size
            if budget is not None and used > budget:
                break
            items.append(SliceItem(slice_id=slice_.pk, licence_id=licence_id, asset_id=asset_id, position=position))
        SliceItem.objects.bulk_create(items)
    return [item.asset_id for item in items]


# --- The manifest ----------------------------------------------------------------

def _get(port, path):
    """(status, lines in the body, ETag), the whole body read."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        lines = 0
        while chunk := response.read(1 << 20):
            lines += chunk.count(b"\n")
        return response.status, lines, response.getheader("ETag")
    finally:
        conn.close()


def time_manifest_build(slice_):
    """Seconds the delivery job takes to write the slice's JSONL and CSV manifests (again: marked stale first)."""
    from licensing.models import SliceManifest
    from licensing.services.delivery import slice_manifests_write

    SliceManifest.objects.filter(slice=slice_).update(stale=True)
    seconds, manifest = timed(lambda: slice_manifests_write(slice_id=slice_.pk))
    if manifest is None or manifest.stale or not manifest.jsonl_bytes:
        raise RuntimeError(f"slice_manifests_write did not write the manifests of slice {slice_.pk}")
    return seconds


def time_manifest_over_http(port, slice_, *, prebuilt=True):
    """One GET of the JSONL manifest: the prebuilt file, or (prebuilt=False) the manifest streamed from the
    database, as it is served while the file is not current."""
    from django.urls import reverse

    from licensing import downloads
    from licensing.models import SliceManifest

    SliceManifest.objects.filter(slice=slice_).update(stale=not prebuilt)
    path = reverse("slice_signed_manifest", args=[downloads.slice_token(slice_), "manifest.jsonl"])
    try:
        seconds, (status, lines, etag) = timed(lambda: _get(port, path))
    finally:
        SliceManifest.objects.filter(slice=slice_).update(stale=False)
    if status != 200 or lines != slice_.asset_count:
        raise RuntimeError(f"GET {path} answered {status} with {lines} lines for {slice_.asset_count} items")
    if bool(etag) != prebuilt:
        raise RuntimeError(f"GET {path} was {'not ' if prebuilt else ''}the prebuilt file")
    return seconds


def time_copy_out(slice_):
    from django.db import connection

    from licensing.models import Asset, SliceItem

    query = (
        "COPY (SELECT i.asset_id, a.kind, a.title, a.mime_type, a.bytes, a.sha256, a.width, a.height, "
        "a.duration_seconds, a.contributor_id, i.withdrawn_at "
        f"FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id "
        f"WHERE i.slice_id = {int(slice_.pk)} ORDER BY i.position) TO STDOUT"
    )
    connection.ensure_connection()

    def copy_out():
        rows = 0
        with connection.connection.cursor() as cursor, cursor.copy(query) as copy:
            for block in copy:
                rows += bytes(block).count(b"\n")
        return rows

    seconds, rows = timed(copy_out)
    if rows != slice_.asset_count:
        raise RuntimeError(f"COPY gave {rows} rows for {slice_.asset_count} items")
    return seconds


# --- A worker's memory -----------------------------------------------------------

def worker_peak_rss_mb(size):
    """Peak RSS of a fresh process that builds a slice of `size` and writes its JSONL manifest."""
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "bench" / "slice_worker.py"), "--size", str(size), "--seed", str(SEED)],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"slice_worker.py --size {size} exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["vm_hwm_kb"] / 1024
