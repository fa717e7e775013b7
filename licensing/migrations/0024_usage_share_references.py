"""A report's shares name their report and contributors without a foreign key per row: checked once per
statement, as the royalty ledger's references are (0019).

Writing a report's 100,000 shares cost a second of row-by-row checks at its commit: one lookup per share
for each of the two keys, and a lock on each contributor found. Here one trigger per INSERT (or UPDATE)
statement checks every reference of the rows it wrote with one join each, and a trigger per DELETE
statement on the report and contributor tables refuses to remove rows that shares name. Concurrent
deletion needs no row lock: the job writes a report's shares while it holds the report's row, and a
contributor with a share is one whose works trained the version, which their works' own foreign keys hold.
"""
import django.db.models.deletion
from django.db import migrations, models

from licensing.db import postgresql_only

# (column of licensing_usageshare, referenced table)
REFERENCES = [("report_id", "licensing_usagereport"), ("contributor_id", "licensing_contributor")]

CHECKS = "".join(f"""
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT {column} AS id FROM added) d
               WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = d.id)) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'a usage share names a row of {table} that does not exist ({column})';
    END IF;""" for column, table in REFERENCES)

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION licensing_usage_share_references() RETURNS trigger AS $$
BEGIN{CHECKS}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usageshare_references_on_insert AFTER INSERT ON licensing_usageshare
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION licensing_usage_share_references();
CREATE TRIGGER usageshare_references_on_update AFTER UPDATE ON licensing_usageshare
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION licensing_usage_share_references();

CREATE OR REPLACE FUNCTION licensing_refuse_delete_of_usage_share_party() RETURNS trigger AS $$
DECLARE
    named boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM removed r JOIN licensing_usageshare s ON s.%I = r.id)', TG_ARGV[0])
        INTO named;
    IF named THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('rows of %s named by usage shares (%s) cannot be deleted', TG_TABLE_NAME, TG_ARGV[0]);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""" + "".join(f"""
CREATE TRIGGER {table}_usage_share_references AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION licensing_refuse_delete_of_usage_share_party('{column}');""" for column, table in REFERENCES)

POSTGRES_DOWN = "".join(f"""
DROP TRIGGER IF EXISTS {table}_usage_share_references ON {table};""" for _, table in REFERENCES) + """
DROP TRIGGER IF EXISTS usageshare_references_on_insert ON licensing_usageshare;
DROP TRIGGER IF EXISTS usageshare_references_on_update ON licensing_usageshare;
DROP FUNCTION IF EXISTS licensing_refuse_delete_of_usage_share_party();
DROP FUNCTION IF EXISTS licensing_usage_share_references();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('licensing', '0023_usage_share_report_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='usageshare',
            name='contributor',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_shares', to='licensing.contributor'),
        ),
        migrations.AlterField(
            model_name='usageshare',
            name='report',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='shares', to='licensing.usagereport'),
        ),
        postgresql_only(POSTGRES_UP, POSTGRES_DOWN),
    ]
