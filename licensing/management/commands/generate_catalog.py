"""Metadata-only catalogue rows at scale, for benchmarks: these assets have no files.

On PostgreSQL the rows stream through COPY while Python generates the next chunk,
so the database and the generator work at the same time.
"""
import json
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import Asset, Contributor

TAGS = ["people", "city", "nature", "animals", "food", "sport", "night", "interior", "aerial", "vehicle"]
IMAGE_SIZES = [(640, 480), (1024, 768), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)]
VIDEO_SIZES = [(1280, 720), (1920, 1080), (3840, 2160)]
CHUNK = 20_000
NULL = "\\N"


def _asset_rows(rng, first_contributor_id, contributors, assets, video_share, created_at):
    for n in range(assets):
        contributor_id = first_contributor_id + rng.randrange(contributors)
        if rng.random() < video_share:
            width, height = VIDEO_SIZES[rng.randrange(len(VIDEO_SIZES))]
            duration = round(rng.uniform(2, 120), 2)
            yield (contributor_id, "video", f"Clip {n}", [TAGS[rng.randrange(10)]], width, height, duration,
                   rng.randrange(2_000_000, 200_000_000), "video/mp4", f"{rng.getrandbits(256):064x}")
        else:
            width, height = IMAGE_SIZES[rng.randrange(len(IMAGE_SIZES))]
            yield (contributor_id, "image", f"Photo {n}", [TAGS[rng.randrange(10)]], width, height, None,
                   rng.randrange(100_000, 8_000_000), "image/jpeg", f"{rng.getrandbits(256):064x}")


class Command(BaseCommand):
    help = "Write N metadata-only assets by M contributors for benchmarks (no files behind them)."

    def add_arguments(self, parser):
        parser.add_argument("--assets", type=int, required=True)
        parser.add_argument("--contributors", type=int, default=1000)
        parser.add_argument("--opt-out-rate", type=float, default=0.01)
        parser.add_argument("--video-share", type=float, default=0.1)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, assets, contributors, opt_out_rate, video_share, seed, **options):
        if assets < 0 or contributors < 1 or not 0 <= opt_out_rate <= 1:
            raise CommandError("Need --assets >= 0, --contributors >= 1 and --opt-out-rate between 0 and 1.")
        rng = random.Random(seed)
        started = time.perf_counter()
        with transaction.atomic():
            first_id = self.create_contributors(rng, contributors, opt_out_rate, seed)
            rows = _asset_rows(rng, first_id, contributors, assets, video_share, timezone.now())
            if connection.vendor == "postgresql":
                self.copy_assets(rows)
            else:
                self.insert_assets(rows)
        elapsed = time.perf_counter() - started
        rate = assets / elapsed if elapsed else 0
        self.stdout.write(f"Wrote {assets:,} assets by {contributors:,} contributors in {elapsed:.2f} s ({rate:,.0f} rows/s).")

    def create_contributors(self, rng, count, opt_out_rate, seed):
        now = timezone.now()
        created = Contributor.objects.bulk_create(
            [
                Contributor(
                    display_name=f"Contributor {seed}-{n}",
                    opted_out=(opted := rng.random() < opt_out_rate),
                    opt_out_changed_at=now if opted else None,
                )
                for n in range(count)
            ],
            batch_size=5000,
        )
        ids = [c.pk for c in created] if created and created[0].pk else list(
            Contributor.objects.order_by("-id").values_list("id", flat=True)[:count]
        )[::-1]
        if ids[-1] - ids[0] != count - 1:
            raise CommandError("Contributor ids are not contiguous; run generate_catalog alone.")
        return ids[0]

    def copy_assets(self, rows):
        now = timezone.now().isoformat()
        columns = ("contributor_id, kind, title, tags, width, height, duration_seconds, bytes, mime_type, "
                   "sha256, storage_key, created_at")
        with connection.cursor() as cursor:
            with cursor.connection.cursor().copy(f"COPY {Asset._meta.db_table} ({columns}) FROM STDIN") as copy:
                buffer = []
                for c, kind, title, tags, w, h, d, size, mime, sha in rows:
                    buffer.append(
                        f"{c}\t{kind}\t{title}\t{json.dumps(tags)}\t{w}\t{h}\t{NULL if d is None else d}\t"
                        f"{size}\t{mime}\t{sha}\t\t{now}\n"
                    )
                    if len(buffer) >= CHUNK:
                        copy.write("".join(buffer))
                        buffer.clear()
                if buffer:
                    copy.write("".join(buffer))

    def insert_assets(self, rows):
        now = timezone.now()
        batch = []
        for c, kind, title, tags, w, h, d, size, mime, sha in rows:
            batch.append(Asset(contributor_id=c, kind=kind, title=title, tags=tags, width=w, height=h,
                               duration_seconds=d, bytes=size, mime_type=mime, sha256=sha, storage_key="",
                               created_at=now))
            if len(batch) >= CHUNK:
                Asset.objects.bulk_create(batch, batch_size=2000)
                batch.clear()
        Asset.objects.bulk_create(batch, batch_size=2000)
