#!/usr/bin/env python
"""Run the benchmarks (`make bench`), or some of them: `bench/run.py slices`.

Each benchmark is a module bench/<name>.py with a `run()` that returns a
bench.measure.Report. It gets the bench database freshly migrated and empty; its
figures are printed as a table and written to var/bench/<name>.json. Machines are
shared and noisy, so a benchmark judges its figures by ratios to a baseline measured
in the same run, never by absolute numbers from another day.
"""
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
OUTPUT_DIR = BASE_DIR / "var" / "bench"

BENCHMARKS = [
    "slices",
    "api",
    "billing",
    "royalties",
    "ai_models",
    "delivery",
    "ingest",
    "catalogue",
    "attribution",
    "scale",
]


def main(names):
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"Unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}.")
    sys.path[0] = str(BASE_DIR)  # the project, not bench/: bench modules import as bench.<name>
    sys.stdout.reconfigure(line_buffering=True)
    from bench import database, measure

    url = database.bench_database_url(os.environ.get("DATABASE_URL", ""))
    # Before django.setup(): settings read the environment once. Child processes inherit it.
    os.environ.update(database.bench_environment(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names or BENCHMARKS:
        started = time.perf_counter()
        print(f"[{name}] fresh database {database.BENCH_DATABASE}")
        try:
            connections.close_all()
            database.recreate(url)
            call_command("migrate", interactive=False, verbosity=0)
            report = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        finally:
            connections.close_all()
        print(measure.table(name, report))
        path = OUTPUT_DIR / f"{name}.json"
        path.write_text(json.dumps(report.as_json(), indent=2) + "\n")
        print(f"  wrote {path.relative_to(BASE_DIR)} ({time.perf_counter() - started:.0f} s)\n")
    if failed:
        raise SystemExit(f"Benchmarks that failed to run: {', '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
