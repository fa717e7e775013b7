"""Every work gets a fixed rank, and slices walk an index of it (selectors/slices.py).

Adding the column rewrites the asset table once, giving each existing work its rank from the
sequence the column's default draws from (PostgreSQL; SQLite draws from random()).
"""
from django.db import migrations, models

import licensing.models.catalog

SEQUENCE = licensing.models.catalog.RANK_SEQUENCE


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def own_sequence(apps, schema_editor):
    # Dropped with the column, so that unapplying this migration leaves nothing behind.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY licensing_asset.rank")


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
    ]
