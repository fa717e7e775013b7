"""Royalty splits nearer their floor: the ledger's references are checked once per statement, not per row,
and the works' payees are read from an index. And an organisation can be paid by a usage pool twice, as a
contributor can: through an attribution and from the unexplained rest.

A foreign key checks each entry's references one lookup at a time (and locks the row it finds):
six of them for each of a split's 100,000 entries cost more than the split. Here one trigger per
INSERT statement checks every reference of the rows it wrote with one join each, and a trigger
per DELETE statement on each referenced table refuses to remove rows that entries name: the
guarantees of the foreign keys, paid once per statement. Concurrent deletion needs no row lock:
a split's payees come from assets and rightsholders, whose own foreign keys hold them; its pool,
licence, invoice and report are written or read in the same transaction, and issued invoices,
payments and the ledger refuse deletion by their own triggers.
"""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from licensing.db import postgresql_only

# (column of licensing_royaltyentry, referenced table)
REFERENCES = [
    ("contributor_id", "licensing_contributor"),
    ("organisation_id", "accounts_organisation"),
    ("licence_id", "licensing_licence"),
    ("pool_id", "licensing_royaltypool"),
    ("credit_note_id", "licensing_invoice"),
    ("usage_report_id", "licensing_usagereport"),
]
PAYEES = REFERENCES[:2]  # one per entry: each is looked up, in the payee order splits write them in
SHARED = REFERENCES[2:]  # the same for every entry of a split: looked up once when it is


def _missing(column, table):
    return f"""
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'a royalty entry names a row of {table} that does not exist ({column})';"""


PAYEE_CHECKS = "".join(f"""
    IF EXISTS (SELECT 1 FROM added e WHERE e.{column} IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = e.{column})) THEN{_missing(column, table)}
    END IF;""" for column, table in PAYEES)

SHARED_CHECKS = "".join(f"""
    IF lo[{n}] IS NOT NULL AND lo[{n}] = hi[{n}] THEN
        IF NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = lo[{n}]) THEN{_missing(column, table)}
        END IF;
    ELSIF lo[{n}] IS NOT NULL AND EXISTS (
            SELECT 1 FROM (SELECT DISTINCT {column} AS id FROM added WHERE {column} IS NOT NULL) d
            WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = d.id)) THEN{_missing(column, table)}
    END IF;""" for n, (column, table) in enumerate(SHARED, start=1))

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION licensing_royalty_entry_references() RETURNS trigger AS $$
DECLARE
    lo bigint[];
    hi bigint[];
BEGIN
    SELECT ARRAY[{", ".join(f"min({column})" for column, _ in SHARED)}],
           ARRAY[{", ".join(f"max({column})" for column, _ in SHARED)}]
        INTO lo, hi FROM added;{SHARED_CHECKS}{PAYEE_CHECKS}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER royaltyentry_references AFTER INSERT ON licensing_royaltyentry
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION licensing_royalty_entry_references();

CREATE OR REPLACE FUNCTION licensing_refuse_delete_of_royalty_payee() RETURNS trigger AS $$
DECLARE
    named boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM removed r JOIN licensing_royaltyentry e ON e.%I = r.id)', TG_ARGV[0])
        INTO named;
    IF named THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('rows of %s named by royalty entries (%s) cannot be deleted', TG_TABLE_NAME, TG_ARGV[0]);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""" + "".join(f"""
CREATE TRIGGER {table}_royalty_references AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION licensing_refuse_delete_of_royalty_payee('{column}');""" for column, table in REFERENCES)

POSTGRES_DOWN = "".join(f"""
DROP TRIGGER IF EXISTS {table}_royalty_references ON {table};""" for _, table in REFERENCES) + """
DROP TRIGGER IF EXISTS royaltyentry_references ON licensing_royaltyentry;
DROP FUNCTION IF EXISTS licensing_refuse_delete_of_royalty_payee();
DROP FUNCTION IF EXISTS licensing_royalty_entry_references();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_country_picker'),
        ('licensing', '0017_attribution'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='royaltyentry',
            name='contributor',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='royalties', to='licensing.contributor'),
        ),
        migrations.AlterField(
            model_name='royaltyentry',
            name='credit_note',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='royalty_reversals', to='licensing.invoice'),
        ),
        migrations.AlterField(
            model_name='royaltyentry',
            name='licence',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='licensing.licence'),
        ),
        migrations.AlterField(
            model_name='royaltyentry',
            name='organisation',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='royalties', to='accounts.organisation'),
        ),
        migrations.AlterField(
            model_name='royaltyentry',
            name='pool',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='licensing.royaltypool'),
        ),
        migrations.AlterField(
            model_name='royaltyentry',
            name='usage_report',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='royalty_entries', to='licensing.usagereport'),
        ),
        migrations.AddIndex(
            model_name='asset',
            index=models.Index(fields=['id'], include=('contributor', 'kind'), name='asset_payee_idx'),
        ),
        migrations.RemoveConstraint(
            model_name='royaltyentry',
            name='royalty_one_entry_per_pool_organisation',
        ),
        migrations.AddConstraint(
            model_name='royaltyentry',
            constraint=models.UniqueConstraint(condition=models.Q(('organisation__isnull', False), ('pool__isnull', False)), fields=('pool', 'organisation', 'reason'), name='royalty_one_entry_per_pool_organisation_reason'),
        ),
        postgresql_only(POSTGRES_UP, POSTGRES_DOWN),
    ]
