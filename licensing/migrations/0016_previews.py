import django.db.models.deletion
from django.db import migrations, models

from licensing.db import postgresql_only

# The catalogue's search: "title contains" is UPPER(title) LIKE UPPER('%word%') in Django's SQL,
# which a trigram index on that expression answers; tags are matched with ? / ?| / @> through GIN.
POSTGRES_UP = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS asset_title_trgm_idx ON licensing_asset USING gin (UPPER(title::text) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS asset_tags_gin_idx ON licensing_asset USING gin (tags);
"""
POSTGRES_DOWN = """
DROP INDEX IF EXISTS asset_title_trgm_idx;
DROP INDEX IF EXISTS asset_tags_gin_idx;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('licensing', '0015_catalogue_ingest'),
    ]

    operations = [
        postgresql_only(POSTGRES_UP, POSTGRES_DOWN),
        migrations.CreateModel(
            name='AssetPreview',
            fields=[
                ('asset', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='preview', serialize=False, to='licensing.asset')),
                ('status', models.CharField(choices=[('ready', 'Ready'), ('placeholder', 'No file: placeholder'), ('failed', 'Failed')], max_length=12)),
                ('colour', models.CharField(default='#d1d5db', help_text="The original's dominant colour, shown while the thumbnail loads.", max_length=7)),
                ('thumbnail_key', models.CharField(blank=True, max_length=300)),
                ('thumbnail_width', models.PositiveIntegerField(default=0)),
                ('thumbnail_height', models.PositiveIntegerField(default=0)),
                ('preview_key', models.CharField(blank=True, max_length=300)),
                ('preview_mime', models.CharField(blank=True, max_length=40)),
                ('poster_key', models.CharField(blank=True, help_text='Videos only: the frame shown before play.', max_length=300)),
                ('source_sha256', models.CharField(blank=True, help_text='The original the previews were made from.', max_length=64)),
                ('failure', models.TextField(blank=True)),
                ('made_at', models.DateTimeField()),
            ],
            options={
                'verbose_name': 'asset preview',
            },
        ),
        migrations.AlterField(
            model_name='licence',
            name='offer_fee',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="Excluding VAT: the invoice adds VAT at the licensor's rate.", max_digits=12, null=True, verbose_name='fee (excluding VAT)'),
        ),
    ]
