"""Database rules that live in SQL, installed by migrations."""
from django.db import migrations


def postgresql_only(up_sql, down_sql):
    """A migration operation that runs `up_sql` on PostgreSQL (SQLite, the embedded default, relies on the models)."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(up_sql, params=None)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(down_sql, params=None)

    return migrations.RunPython(forwards, backwards)
