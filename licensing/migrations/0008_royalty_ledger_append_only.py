from django.db import migrations

from licensing.db import postgresql_only

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION licensing_refuse_royalty_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the royalty ledger is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER royaltyentry_append_only BEFORE UPDATE OR DELETE ON licensing_royaltyentry
    FOR EACH ROW EXECUTE FUNCTION licensing_refuse_royalty_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS royaltyentry_append_only ON licensing_royaltyentry;
DROP FUNCTION IF EXISTS licensing_refuse_royalty_change();
"""


class Migration(migrations.Migration):
    dependencies = [("licensing", "0007_royalties")]
    operations = [postgresql_only(POSTGRES_UP, POSTGRES_DOWN)]
