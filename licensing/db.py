"""Database rules that live in SQL, installed by migrations."""
import zlib

from django.db import connection, migrations


def postgresql_only(up_sql, down_sql):
    """A migration operation that runs `up_sql` on PostgreSQL (SQLite, the embedded default, relies on the models)."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(up_sql, params=None)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(down_sql, params=None)

    return migrations.RunPython(forwards, backwards)


def copy_rows(table, columns, rows):
    """Write `rows` (tuples in the order of `columns`) into a table (a model's, or one named) with one COPY
    (PostgreSQL): no SQL is built per row and the rows travel in one stream, where an INSERT of thousands
    of rows spends its time compiling and adapting parameters. Values are given as the columns store them
    (JSON as its text)."""
    name = table if isinstance(table, str) else table._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reserve_ids(model, count):
    """`count` new primary keys of the model's table, drawn from its identity sequence in one round trip,
    so that rows written with COPY can be referred to before they are written."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def for_set_based_work(cursor, *, work_mem=None):
    """Settings, for the rest of the transaction (PostgreSQL), of a statement over hundreds of thousands of
    rows: no JIT, whose compiling cost 0.3-0.4 s of a 2.5 s royalty split and saved less than that, and, where
    given, the memory for its sorts. More memory is not always faster: with 64 MB the split's planner
    chose hash joins of a million rows over the merge joins its indexes give, and took half as long again."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")
        if work_mem:
            cursor.execute(f"SET LOCAL work_mem = '{work_mem}'")


CONSENT_LOCK = zlib.crc32(b"tessera-consent")


def advisory_xact_lock(key, *, shared=False):
    """A PostgreSQL advisory lock held to the end of the transaction. SQLite runs one writing transaction at a
    time: nothing to do there."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock{'_shared' if shared else ''}(%s)", [key])


def lock_consent(*, shared=False):
    """How slice builds and contributors' opt-outs see each other. An opt-out holds it alone from its first
    statement; a build holds it shared from its last look at who opted out to its commit (services/slices.py).
    Whichever commits second therefore sees what the other did."""
    advisory_xact_lock(CONSENT_LOCK, shared=shared)
