"""Metadata-only catalogue rows at scale, for benchmarks: these assets have no files.

On PostgreSQL the rows stream through COPY while Python generates the next chunk,
so the database and the generator work at the same time.
"""
import json
import random
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from licensing.models import Asset, Contributor

TAGS = ["people", "city", "nature", "animals", "food", "sport", "night", "interior", "aerial", "vehicle"]
TAG_JSON = [f'["{tag}"]' for tag in TAGS]
IMAGE_SIZES = [(640, 480), (1024, 768), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)]
VIDEO_SIZES = [(1280, 720), (1920, 1080), (3840, 2160)]
CHUNK = 50_000
NULL = "\\N"


def asset_lines(rng, first_contributor_id, contributors, assets, video_share, created_at=None):
    """COPY text lines. One 64-bit draw per row feeds every field, to keep generation cheaper than ingestion.
    Without `created_at` the lines end at storage_key (the COPY gives the column a default instead)."""
    tail = "\n" if created_at is None else f"\t{created_at}\n"
    video_below = int(video_share * 1024)
    image_sizes = [f"{w}\t{h}" for w, h in IMAGE_SIZES]
    video_sizes = [f"{w}\t{h}" for w, h in VIDEO_SIZES]
    getrandbits = rng.getrandbits
    for n in range(assets):
        r = getrandbits(64)
        contributor_id = first_contributor_id + r % contributors
        r //= contributors
        sha = f"{getrandbits(256):064x}"
        if r & 1023 < video_below:
            size = video_sizes[(r >> 10) % 3]
            duration = 2 + (r >> 12) % 11800 / 100
            yield (f"{contributor_id}\tvideo\tClip {n}\t{TAG_JSON[(r >> 26) % 10]}\t{size}\t{duration}\t"
                   f"{2_000_000 + (r >> 30) % 198_000_000}\tvideo/mp4\t{sha}\t{tail}")
        else:
            size = image_sizes[(r >> 10) % 6]
            yield (f"{contributor_id}\timage\tPhoto {n}\t{TAG_JSON[(r >> 13) % 10]}\t{size}\t{NULL}\t"
                   f"{100_000 + (r >> 17) % 7_900_000}\timage/jpeg\t{sha}\t{tail}")


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
        now = timezone.now()
        self.phases = {}
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with self.loading(assets):
                    first_id = self.copy_contributors(rng, contributors, opt_out_rate, seed, now)
                    self.copy_assets(asset_lines(rng, first_id, contributors, assets, video_share), now)
                    self.phases["load"] = time.perf_counter() - started
            else:
                first_id = self.create_contributors(rng, contributors, opt_out_rate, seed, now)
                self.insert_assets(asset_lines(rng, first_id, contributors, assets, video_share, now.isoformat()))
        elapsed = time.perf_counter() - started
        rate = assets / elapsed if elapsed else 0
        phases = "".join(f"; {name} {seconds:.2f} s" for name, seconds in self.phases.items())
        self.stdout.write(f"Wrote {assets:,} assets by {contributors:,} contributors in {elapsed:.2f} s "
                          f"({rate:,.0f} rows/s{phases}).")

    @contextmanager
    def loading(self, assets):
        """The asset table made ready for a bulk load, and put back as it was, in the same transaction.

        - Its foreign keys are dropped and added back, validated in one join each: checked row by
          row, the deferred constraints would cost more than the whole COPY.
        - Into an empty table, or one smaller than the load, its secondary indexes are dropped and
          built again afterwards: one sort per index is far cheaper than placing every row in each.
          The primary key and the unique constraint stay (other tables' keys rely on the first; new
          rows only append to both).
        - Into an empty table, the rows are written frozen (COPY FREEZE, after a TRUNCATE of the
          empty table in this transaction): every page is all-visible from the start, so the slice
          walk reads only its index without a VACUUM first.
        """
        table = Asset._meta.db_table
        with connection.cursor() as cursor:
            # Fire what earlier statements of this transaction deferred: ALTER TABLE refuses pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            # Each index is then built by one sort in memory rather than runs merged from disk.
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f'", [table])
            foreign_keys = cursor.fetchall()
            for name, _ in foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT %s) present", [max(assets, 1)])
            present = cursor.fetchone()[0]
            indexes = []
            if present < assets:
                cursor.execute("""
                    SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = %s::regclass
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid)
                """, [table])
                indexes = cursor.fetchall()
                for name, _ in indexes:
                    cursor.execute(f'DROP INDEX "{name}"')
            self.freeze = present == 0 and self._truncate_empty(cursor, table)
        yield
        with connection.cursor() as cursor:
            started = time.perf_counter()
            for _, definition in indexes:
                cursor.execute(definition)
            self.phases["indexes"] = time.perf_counter() - started
            started = time.perf_counter()
            for name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            self.phases["foreign keys"] = time.perf_counter() - started
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"ANALYZE {Contributor._meta.db_table}")

    def _truncate_empty(self, cursor, table):
        """TRUNCATE the empty asset table with the empty tables whose keys point at it, so that COPY
        FREEZE may write into it; False (nothing done) when one of them holds rows."""
        cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint WHERE confrelid = %s::regclass "
                       "AND contype = 'f'", [table])
        referencing = sorted({row[0] for row in cursor.fetchall()} - {table})
        for other in referencing:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {other})")
            if cursor.fetchone()[0]:
                return False
        try:
            with transaction.atomic():
                cursor.execute(f"TRUNCATE {', '.join([table, *referencing])}")
        except DatabaseError:
            return False  # a table further along still points at them: load without FREEZE
        return True

    def contributor_rows(self, rng, count, opt_out_rate, seed):
        for n in range(count):
            yield f"Contributor {seed}-{n}", rng.random() < opt_out_rate

    def copy_contributors(self, rng, count, opt_out_rate, seed, now):
        table = Contributor._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            before = cursor.fetchone()[0]
            with cursor.connection.cursor().copy(
                f"COPY {table} (display_name, opted_out, opt_out_changed_at, public_profile, created_at) FROM STDIN"
            ) as copy:
                stamp = now.isoformat()
                copy.write("".join(
                    f"{name}\t{'t' if opted else 'f'}\t{stamp if opted else NULL}\tf\t{stamp}\n"
                    for name, opted in self.contributor_rows(rng, count, opt_out_rate, seed)
                ))
            cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE id > %s", [before])
            first, last = cursor.fetchone()
        if last - first != count - 1:
            raise CommandError("Contributor ids are not contiguous; run generate_catalog alone.")
        return first

    def create_contributors(self, rng, count, opt_out_rate, seed, now):
        created = Contributor.objects.bulk_create(
            [
                Contributor(display_name=name, opted_out=opted, opt_out_changed_at=now if opted else None)
                for name, opted in self.contributor_rows(rng, count, opt_out_rate, seed)
            ],
            batch_size=5000,
        )
        return created[0].pk

    def copy_assets(self, lines, created_at):
        columns = ("contributor_id, kind, title, tags, width, height, duration_seconds, bytes, mime_type, "
                   "sha256, storage_key")
        table = Asset._meta.db_table
        with connection.cursor() as cursor:
            # Every row has the same creation time: a default for the load spares the server parsing it
            # ten million times. The column has none otherwise.
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN created_at SET DEFAULT %s::timestamptz", [created_at])
            raw = cursor.connection.cursor()
            # The queued writer sends on its own thread, so generating the next chunk overlaps the server's work.
            freeze = " WITH (FREEZE)" if getattr(self, "freeze", False) else ""
            with raw.copy(f"COPY {Asset._meta.db_table} ({columns}) FROM STDIN{freeze}",
                          writer=QueuedLibpqWriter(raw)) as copy:
                buffer = []
                for line in lines:
                    buffer.append(line)
                    if len(buffer) >= CHUNK:
                        copy.write("".join(buffer))
                        buffer.clear()
                if buffer:
                    copy.write("".join(buffer))
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN created_at DROP DEFAULT")

    def insert_assets(self, lines):
        fields = ["contributor_id", "kind", "title", "tags", "width", "height", "duration_seconds", "bytes",
                  "mime_type", "sha256", "storage_key", "created_at"]
        batch = []
        for line in lines:
            values = dict(zip(fields, line.rstrip("\n").split("\t")))
            values["tags"] = json.loads(values["tags"])
            values["duration_seconds"] = None if values["duration_seconds"] == NULL else float(values["duration_seconds"])
            batch.append(Asset(**values))
            if len(batch) >= 5000:
                Asset.objects.bulk_create(batch, batch_size=1000)
                batch.clear()
        Asset.objects.bulk_create(batch, batch_size=1000)
