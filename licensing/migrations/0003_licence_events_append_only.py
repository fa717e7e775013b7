from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION licensing_refuse_event_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'licence events are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER licenceevent_append_only BEFORE UPDATE OR DELETE ON licensing_licenceevent
    FOR EACH ROW EXECUTE FUNCTION licensing_refuse_event_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS licenceevent_append_only ON licensing_licenceevent;
DROP FUNCTION IF EXISTS licensing_refuse_event_change();
"""
SQLITE_UP = [
    "CREATE TRIGGER licenceevent_no_update BEFORE UPDATE ON licensing_licenceevent "
    "BEGIN SELECT RAISE(ABORT, 'licence events are append-only: UPDATE refused'); END;",
    "CREATE TRIGGER licenceevent_no_delete BEFORE DELETE ON licensing_licenceevent "
    "BEGIN SELECT RAISE(ABORT, 'licence events are append-only: DELETE refused'); END;",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS licenceevent_no_update;", "DROP TRIGGER IF EXISTS licenceevent_no_delete;"]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("licensing", "0002_licences")]
    operations = [migrations.RunPython(install, remove)]
