from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0018_asset_rank"),
        ("licensing", "0019_royalty_floors"),
        ("licensing", "0020_prebuilt_manifests"),
    ]

    operations = []
