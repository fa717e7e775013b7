"""The benchmarks' own database, on the server DATABASE_URL names.

It is dropped and made afresh before each benchmark, so a benchmark never sees dev or
test data, nor what another benchmark left behind.
"""
import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "tessera_bench")


def bench_database_url(server_url):
    """DATABASE_URL with its database swapped for the benchmarks' own."""
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"Benchmarks run on PostgreSQL; DATABASE_URL is {parts.scheme or 'unset'}.")
    if parts.path.lstrip("/") == BENCH_DATABASE:
        raise SystemExit(f"DATABASE_URL already names {BENCH_DATABASE}: point it at the dev database's server.")
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def bench_environment(url):
    """The environment every benchmark process runs with (this one, gunicorn, worker scripts).

    No broker: a job that slips past a benchmark's control runs in-process against the
    bench database instead of reaching a real queue and a worker on another database.
    """
    return {"DATABASE_URL": url, "CELERY_BROKER_URL": "", "CELERY_QUEUE": "tessera-bench"}


def recreate(url):
    """Drop and create the bench database (connections to it are ended: they can only be ours)."""
    name = urlsplit(url).path.lstrip("/")
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(url):
    """Drop the bench database a benchmark filled (its connections are ended: they can only be ours)."""
    name = urlsplit(url).path.lstrip("/")
    if name != BENCH_DATABASE:
        raise SystemExit(f"Refusing to drop {name}: only {BENCH_DATABASE} is the benchmarks' own.")
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
