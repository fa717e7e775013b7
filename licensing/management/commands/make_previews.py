"""Backfill previews: schedule the preview job for every asset that has none (or whose file changed)."""
from django.core.management.base import BaseCommand
from django.db.models import F, Q

from licensing.models import Asset
from licensing.services.previews import (
    previews_make,
    previews_placeholders_backfill,
    previews_schedule,
)


class Command(BaseCommand):
    help = ("Make thumbnails and previews for assets without them. By default it schedules jobs through the "
            "outbox (workers make them); --now makes them in this process.")

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Make them here instead of scheduling jobs.")
        parser.add_argument("--all", action="store_true", help="Redo every asset, not only the missing ones.")
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, now, all, batch, **options):
        placeholders = previews_placeholders_backfill()
        assets = Asset.objects.exclude(storage_key="").order_by("id")
        if not all:
            # Missing, or made from another file than the one the row now names.
            assets = assets.filter(Q(preview__isnull=True) | ~Q(preview__source_sha256=F("sha256")))
        ids = list(assets.values_list("id", flat=True))
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            if now:
                for asset_id in chunk:
                    previews_make(asset_id=asset_id)
            else:
                previews_schedule(asset_ids=chunk)
        verb = "Made" if now else "Scheduled"
        self.stdout.write(f"{verb} previews for {len(ids):,} asset{'s' if len(ids) != 1 else ''} with files; "
                          f"{placeholders:,} metadata-only row{'s' if placeholders != 1 else ''} got a placeholder.")
