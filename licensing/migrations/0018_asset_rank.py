"""Every work gets a fixed rank, and slices walk an index of it (selectors/slices.py); a slice's
items are checked against their slice when the slice is deleted, not one by one as they are written.

Adding the column rewrites the asset table once, giving each existing work its rank from the
sequence the column's default draws from (PostgreSQL; SQLite draws from random()).
"""
import django.db.models.deletion
from django.db import migrations, models

import licensing.models.catalog
from licensing.db import postgresql_only

SEQUENCE = licensing.models.catalog.RANK_SEQUENCE


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def own_sequence(apps, schema_editor):
    # Dropped with the column, so that unapplying this migration leaves nothing behind.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY licensing_asset.rank")


SLICE_KEY_UP = """
CREATE OR REPLACE FUNCTION licensing_refuse_slice_delete_with_items() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM licensing_sliceitem WHERE slice_id = OLD.id) THEN
        RAISE EXCEPTION 'slice % still holds items and cannot be deleted', OLD.id;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER slice_items_first BEFORE DELETE ON licensing_slice
    FOR EACH ROW EXECUTE FUNCTION licensing_refuse_slice_delete_with_items();
"""
SLICE_KEY_DOWN = """
DROP TRIGGER IF EXISTS slice_items_first ON licensing_slice;
DROP FUNCTION IF EXISTS licensing_refuse_slice_delete_with_items();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('licensing', '0017_attribution'),
    ]

    operations = [
        migrations.RunPython(create_sequence, migrations.RunPython.noop),
        migrations.AddField(
            model_name='asset',
            name='rank',
            field=models.BigIntegerField(db_default=licensing.models.catalog.CatalogueRank(), editable=False),
        ),
        migrations.RunPython(own_sequence, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='asset',
            index=models.Index(condition=models.Q(('taken_down_at__isnull', True), ('training_reserved', False)), fields=['rank', 'id', 'kind', 'width', 'height', 'duration_seconds'], include=('bytes', 'contributor', 'collection', 'tags'), name='asset_rank_idx'),
        ),
        migrations.AlterField(
            model_name='sliceitem',
            name='slice',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='licensing.slice'),
        ),
        postgresql_only(SLICE_KEY_UP, SLICE_KEY_DOWN),
    ]
