"""Slices as the catalogue grows: catalogues of 1,000,000 and 10,000,000 works, and slices of
10,000 and 100,000 works from each.

- `generate_1m_rows_per_s`, `generate_10m_rows_per_s`: manage.py generate_catalog, the whole
  command (COPY, the indexes built after it, the foreign keys checked); its phases are noted.
  One contributor per ten works, 1% of them opted out.
- `slice_10k_of_1m_s` … `slice_100k_of_10m_s`: slice_build (what the build_slice job runs, its
  outbox jobs held back) of a research slice of a new licence: the median of REPEATS builds, each
  with its own seed (so each walks a part of the index no build before it read), after one
  warm-up build.
- `select_10k_of_1m_s` … `select_100k_of_10m_s`: the selection statement alone (picked_sql, what the
  build inserts from), rolled back, on the path the build takes: the part of the build that could
  grow with the catalogue. The rest of a build writes and locks what it picked.
- `slice_10k_of_10m_sort_s`: the selection statement of that slice on the sort path, which read
  and ordered the whole eligible catalogue before the walk existed: what the walk saves.
- notes: for a few filters, the path selection_path() chooses, the planner's estimate of the
  matching works, and the selection statement on each path (rolled back), at 10,000 works.
Targets: each 10M figure within 1.3x of its 1M one; a 10,000-work slice under 0.15 s; generate_catalog
at 150,000 rows/s or more for the 10M. The 10M database is dropped at the end, even when a step
fails. About 15 minutes on 2 cores; it needs about 8 GB of free disk at its peak.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.measure import Figure, Report, Target, timed

BASE_DIR = Path(__file__).resolve().parent.parent

CATALOGUES = [("1m", 1_000_000), ("10m", 10_000_000)]
SIZES = [("10k", 10_000), ("100k", 100_000)]
REPEATS = 5
SELECTIONS = 9  # a selection is cheap, and a tenth of a second is at the mercy of the machine's neighbours
FIRST_SEED = 1001
FILTERS = [
    {},
    {"kind": "video"},
    {"tags": ["aerial"]},
    {"kind": "video", "min_width": 3840},
    {"kind": "video", "min_width": 3840, "tags": ["aerial"]},
    {"kind": "video", "min_width": 3840, "min_duration": 110, "tags": ["aerial"]},
]
WITHIN = 1.3
SMALL_SLICE_UNDER_S = 0.15
GENERATE_AT_LEAST = 150_000


def run():
    from django.core.management import call_command
    from django.db import connections

    from bench import database

    url = os.environ["DATABASE_URL"]
    figures, notes, paths = [], [], {}
    try:
        for n, (name, works) in enumerate(CATALOGUES):
            if n:  # bench/run.py made the first database; each catalogue gets its own
                connections.close_all()
                database.recreate(url)
                call_command("migrate", interactive=False, verbosity=0)
            notes.append(f"{name}: {disk_free()} free on the disk before generating")
            rate, said = generate(works)
            figures.append(Figure(f"generate_{name}_rows_per_s", rate, "rows/s", [rate], "generate_catalog, whole"))
            notes.append(f"{name}: {said}")
            notes.append(f"{name}: {vacuum()}")
            notes.append(f"{name}: {sizes()}")
            user = applicant_of_bench()
            for size_name, size in SIZES:
                seconds, chosen = time_builds(user, size)
                paths[(name, size_name)] = chosen
                figures.append(Figure.median(f"slice_{size_name}_of_{name}_s", seconds, "s",
                                             f"slice_build, {', '.join(sorted(chosen))} path"))
                print(f"  {size_name} of {name}: {', '.join(f'{s:.3f}' for s in seconds)} s ({', '.join(chosen)})")
                selected = time_selections(user, size)
                figures.append(Figure.median(f"select_{size_name}_of_{name}_s", selected, "s",
                                             "the selection statement alone, rolled back"))
                print(f"  selection alone: {', '.join(f'{s:.3f}' for s in selected)} s")
            notes.extend(f"{name}: {line}" for line in filter_paths(user))
            notes.append(f"{name}: {disk_free()} free on the disk with the catalogue in it")
        sort_seconds = time_sort_path(user, 10_000)
        figures.append(Figure("slice_10k_of_10m_sort_s", sort_seconds, "s", [sort_seconds],
                              "the selection on the sort path, rolled back; once"))
    finally:
        connections.close_all()
        database.drop(url)
    report = Report(figures=figures, targets=[], notes=notes)
    report.targets = targets(report)
    return report


def targets(report):
    found = []
    for size_name, _ in SIZES:
        small, large = report.figure(f"slice_{size_name}_of_1m_s"), report.figure(f"slice_{size_name}_of_10m_s")
        found.append(Target(f"slice_{size_name}_10m_within_1_3x_1m", f"{size_name} slice of 10M within 1.3x of 1M",
                            f"{large / small:.2f}x ({large:.3f} s / {small:.3f} s)", large <= WITHIN * small))
        small, large = report.figure(f"select_{size_name}_of_1m_s"), report.figure(f"select_{size_name}_of_10m_s")
        found.append(Target(f"select_{size_name}_10m_within_1_3x_1m",
                            f"{size_name} selection of 10M within 1.3x of 1M",
                            f"{large / small:.2f}x ({large:.3f} s / {small:.3f} s)", large <= WITHIN * small))
    for name, _ in CATALOGUES:
        seconds = report.figure(f"slice_10k_of_{name}_s")
        found.append(Target(f"slice_10k_of_{name}_under_0_15s", f"10k slice of {name.upper()} under 0.15 s",
                            f"{seconds:.3f} s", seconds < SMALL_SLICE_UNDER_S))
        seconds = report.figure(f"select_10k_of_{name}_s")
        found.append(Target(f"select_10k_of_{name}_under_0_15s", f"10k selection of {name.upper()} under 0.15 s",
                            f"{seconds:.3f} s", seconds < SMALL_SLICE_UNDER_S))
    rate = report.figure("generate_10m_rows_per_s")
    found.append(Target("generate_10m_at_least_150k_rows_per_s", "generate_catalog 10M at 150,000 rows/s or more",
                        f"{rate:,.0f} rows/s", rate >= GENERATE_AT_LEAST))
    return found


def disk_free():
    return f"{shutil.disk_usage(BASE_DIR).free / 2**30:.1f} GiB"


def generate(works):
    """(rows per second of the whole command, what it said), then the tables vacuumed as in service."""
    arguments = ["--assets", str(works), "--contributors", str(works // 10), "--opt-out-rate", "0.01", "--seed", "1"]
    print(f"  manage.py generate_catalog {' '.join(arguments)}")
    done = subprocess.run([sys.executable, "manage.py", "generate_catalog", *arguments], cwd=BASE_DIR,
                          check=True, capture_output=True, text=True)
    said = done.stdout.strip()
    print(f"  {said}")
    seconds = float(re.search(r" in ([0-9.]+) s", said).group(1))
    return works / seconds, said


def vacuum():
    """VACUUM (ANALYZE) the catalogue, as autovacuum keeps a catalogue in service."""
    from django.db import connection

    from licensing.models import Asset, Contributor

    with connection.cursor() as cursor:
        seconds, _ = timed(lambda: cursor.execute(
            f"VACUUM (ANALYZE) {Asset._meta.db_table}, {Contributor._meta.db_table}"))
    return f"VACUUM (ANALYZE) of the catalogue {seconds:.1f} s"


def sizes():
    """How much room the catalogue takes: the asset table, all its indexes, the rank index alone."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_table_size('licensing_asset')), "
                       "pg_size_pretty(pg_indexes_size('licensing_asset')), "
                       "pg_size_pretty(pg_relation_size('asset_rank_idx'))")
        table, indexes, rank = cursor.fetchone()
    return f"asset table {table}, its indexes {indexes}, of which asset_rank_idx {rank}"


def applicant_of_bench():
    from bench.licensees import applicant

    return applicant()


def time_builds(user, size):
    """Seconds of REPEATS slice builds of `size` (after one warm-up), and the paths they took."""
    from bench.licensees import jobs_not_dispatched, requested_slice
    from licensing.selectors.slices import selection_path
    from licensing.services.slices import slice_build

    seconds, chosen = [], set()
    for n in range(REPEATS + 1):
        slice_ = requested_slice(user, size=size, seed=FIRST_SEED + n)
        chosen.add(selection_path(slice_))
        with jobs_not_dispatched():
            took, built = timed(lambda: slice_build(slice_id=slice_.pk))
        if built is None or built.status != "ready" or built.asset_count != size:
            raise RuntimeError(f"slice_build did not make slice {slice_.pk} ready with {size:,} items")
        if n:
            seconds.append(took)
    return seconds, chosen


def time_selections(user, size):
    """Seconds of SELECTIONS selection statements alone (the path the build would take), each with a seed
    no build used, rolled back."""
    from bench.licensees import requested_slice

    seconds = []
    for n in range(SELECTIONS):
        slice_ = requested_slice(user, size=size, seed=FIRST_SEED + 100 + n)
        took, picked = _selection_seconds(slice_, None)
        if picked != size:
            raise RuntimeError(f"the selection picked {picked:,} works, not {size:,}")
        seconds.append(took)
    return seconds


def _selection_seconds(slice_, path):
    """The selection statement alone on `path` (or the one selection_path chooses), rolled back:
    (seconds, works picked)."""
    from django.db import connection, transaction

    from bench.licensees import byte_budget
    from licensing.db import for_set_based_work
    from licensing.selectors.slices import picked_sql

    budget = byte_budget(slice_.licence)
    with transaction.atomic(), connection.cursor() as cursor:
        for_set_based_work(cursor, work_mem="64MB")  # as the build runs it

        def select():  # the path's choice (planner estimates, when `path` is None) included
            cursor.execute(*picked_sql(slice_, budget, path=path))
            return len(cursor.fetchall())

        seconds, picked = timed(select)
        transaction.set_rollback(True)
    return seconds, picked


def time_sort_path(user, size):
    from bench.licensees import requested_slice
    from licensing.selectors.slices import SORT

    seconds, picked = _selection_seconds(requested_slice(user, size=size, seed=FIRST_SEED), SORT)
    if picked != size:
        raise RuntimeError(f"the sort path picked {picked:,} works, not {size:,}")
    print(f"  sort path, 10k: {seconds:.3f} s")
    return seconds


def filter_paths(user, size=10_000):
    """A line per filter: the chosen path, the estimate, each path's selection (rolled back) and whether
    both picked the same works. The sort path of a filter most works pass reads most of the catalogue:
    it is timed only where the planner expects at most 200,000 matching works."""
    from django.db import connection, transaction

    from bench.licensees import byte_budget, requested_slice
    from licensing.db import for_set_based_work
    from licensing.models import Slice
    from licensing.selectors import slices as selection

    lines = []
    for filters in FILTERS:
        slice_ = requested_slice(user, size=size, seed=FIRST_SEED)
        Slice.objects.filter(pk=slice_.pk).update(filters=filters)
        slice_.refresh_from_db()
        clauses, params = selection._work_filters(slice_)
        params["false"] = False
        matching = selection._estimated_rows([*selection.GRANTABLE, *clauses], params)
        chosen = selection.selection_path(slice_)
        picked = {}
        for path in (selection.RANGE, selection.SORT):
            if path == selection.SORT and matching > 200_000:
                continue
            sql, params = selection.picked_sql(slice_, byte_budget(slice_.licence), path=path)
            with transaction.atomic(), connection.cursor() as cursor:
                for_set_based_work(cursor, work_mem="64MB")
                seconds, _ = timed(lambda: cursor.execute(sql, params))  # noqa: B023
                picked[path] = (seconds, [row[0] for row in cursor.fetchall()])
                transaction.set_rollback(True)
        said = ", ".join(f"{path} {seconds:.3f} s" for path, (seconds, _) in picked.items())
        same = "" if len(picked) < 2 else (
            "; same works" if picked[selection.RANGE][1] == picked[selection.SORT][1] else "; DIFFERENT works")
        lines.append(f"filters {filters or 'none'}: ~{matching:,.0f} matching, {chosen} chosen; {said}; "
                     f"{len(picked[selection.RANGE][1]):,} picked{same}")
        print(f"  {lines[-1]}")
    return lines

