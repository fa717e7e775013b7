"""The catalogue: feeds brought in by upsert, files verified against their rows, works taken down.

An ingest stages the feed's valid rows (COPY into a temporary table on PostgreSQL) and then
writes contributors, collections, works and rightsholders with one set-based statement each:
INSERT … ON CONFLICT (external_id) DO UPDATE … WHERE something changed. A row that says what
the catalogue already holds writes nothing, so a feed brought in twice changes nothing the
second time. Files are checked afterwards by a job of their own, which also reads the
C2PA/CAWG training-and-mining assertions the files carry (licensing/rights.py).
"""
import csv
import hashlib
import io
import itertools
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import av
import structlog
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image
from psycopg.copy import QueuedLibpqWriter

from accounts.models import Organisation
from licensing import feeds, jobs, rights
from licensing.db import for_set_based_work
from licensing.models import (
    Asset,
    Collection,
    Contributor,
    IngestRejection,
    IngestRun,
    IngestStatus,
    Rightsholder,
    SliceItem,
    TrainingSignal,
)
from licensing.services.audit import audit
from licensing.services.delivery import slice_items_withdrawn, slice_manifests_refresh

log = structlog.get_logger(__name__)

STAGING = "ingest_work"
STAGING_RIGHTS = "ingest_rights"
STAGING_CONTRIBUTORS = "ingest_contributors"
STAGING_COLLECTIONS = "ingest_collections"
STAGING_TAGS = "ingest_tags"
# A feed of at least this many works, most of them new, has its asset foreign keys checked once, in one
# join, instead of per row.
KEYS_CHECKED_ONCE_FROM = 100_000
# Works staged and written at a time: the feed's next chunk is read while the database writes this one.
CHUNK_ROWS = 100_000
COMPARED = ("contributor_id", "kind", "title", "tags", "width", "height", "duration_seconds", "bytes", "mime_type",
            "sha256", "storage_key")


class IngestRefused(Exception):
    """A feed or a catalogue change that cannot be taken; the message says why. Nothing was changed."""


# --- Bringing a feed in -------------------------------------------------------------

def ingest_run_create(*, upload, by, file_name=None, schedule=True):
    """Store the uploaded feed and queue its ingest. `schedule=False` leaves the running to the caller."""
    name = file_name or getattr(upload, "name", "") or "feed"
    fmt = feeds.detect_format(name)
    if fmt is None:
        raise IngestRefused(gettext("“%(name)s” is neither a CSV (.csv) nor a JSON Lines (.jsonl) feed.")
                            % {"name": name})
    key = default_storage.save(f"ingest/{timezone.now():%Y/%m}/{name.rsplit('/', 1)[-1]}", File(upload))
    with transaction.atomic():
        run = IngestRun.objects.create(file_name=name[:300], storage_key=key, format=fmt, started_by=by)
        audit(actor=by, organisation=None, action="catalogue.ingest", target=run, payload={"file": name})
        if schedule:
            jobs.schedule("catalogue.ingest", run_id=run.pk, dedupe=f"catalogue.ingest:{run.pk}")
    return run


def ingest_run_execute(*, run_id):
    """Bring the run's feed in. Safe to deliver twice: only a queued run starts, and a run that died
    half-way (its transaction rolled back) is started again by its redelivery."""
    now = timezone.now()
    # A run left `running` past the lease lost its worker; its transaction rolled back, so it starts over.
    lost = Q(status=IngestStatus.RUNNING, started_at__lt=now - timedelta(seconds=settings.JOB_LEASE_SECONDS))
    started = IngestRun.objects.filter(Q(status=IngestStatus.QUEUED) | lost, pk=run_id).update(
        status=IngestStatus.RUNNING, started_at=now, progress=1)
    if not started:
        return None
    run = IngestRun.objects.get(pk=run_id)
    progress = _Progress(run)
    try:
        with default_storage.open(run.storage_key, "rb") as stream, progress:
            size = max(default_storage.size(run.storage_key), 1)
            counts, rejections, to_verify = _ingest(stream, run.format, progress, size)
    except feeds.FeedUnreadable as unreadable:
        return _fail(run, str(unreadable))
    except Exception:
        log.exception("ingest_crashed", run=run_id)
        _fail(run, "The feed could not be brought in because of an internal error; nothing was changed. "
                   "The licensor's engineers have been told.")
        raise
    with transaction.atomic():
        IngestRejection.objects.filter(run_id=run_id).delete()
        IngestRejection.objects.bulk_create(
            [IngestRejection(run_id=run_id, line=r.line, external_id=r.external_id[:200], reason=r.reason)
             for r in rejections], batch_size=2000)
        IngestRun.objects.filter(pk=run_id).update(
            status=IngestStatus.VERIFYING if to_verify else IngestStatus.DONE, progress=90 if to_verify else 100,
            rejected=len(rejections), finished_at=None if to_verify else timezone.now(), **counts)
        if to_verify:
            jobs.schedule("catalogue.verify", run_id=run_id, dedupe=f"catalogue.verify:{run_id}")
        slice_manifests_refresh(works_changed_since=now, dedupe=f"ingest:{run_id}")  # granted works it changed
    log.info("ingest_done", run=run_id, rejected=len(rejections), **counts)
    return IngestRun.objects.get(pk=run_id)


def _fail(run, reason):
    IngestRun.objects.filter(pk=run.pk).update(status=IngestStatus.FAILED, failure_reason=reason,
                                               finished_at=timezone.now())
    log.warning("ingest_failed", run=run.pk, reason=reason)
    return IngestRun.objects.get(pk=run.pk)


class _Progress:
    """Reports how far the reading got from a connection of its own, so the run's page moves while the
    ingest's transaction is still open. SQLite takes one writer at a time: there the page waits."""

    def __init__(self, run):
        self.run_id, self.value, self.stop = run.pk, 1, threading.Event()
        self.thread = threading.Thread(target=self._report, daemon=True) if connection.vendor == "postgresql" else None

    def set(self, value):
        self.value = max(self.value, min(int(value), 89))

    def _report(self):
        try:
            last = None
            while not self.stop.wait(0.5):
                if self.value != last:
                    IngestRun.objects.filter(pk=self.run_id, status=IngestStatus.RUNNING).update(progress=self.value)
                    last = self.value
        finally:
            connections.close_all()

    def __enter__(self):
        if self.thread:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=5)


def ingest_feed(*, stream, fmt):
    """Bring a feed in without a run (benchmarks, tests): returns (counts, rejections)."""
    counts, rejections, _ = _ingest(stream, fmt, None, 1)
    return counts, rejections


def _ingest(stream, fmt, progress, size):
    """Read the feed in batches checked column by column (licensing/feeds.py) on a thread of its own, and
    write it a chunk at a time: COPY into the staging table, then one set-based statement per table. While
    the database writes one chunk, the next is read. Works with rightsholders wait for the end, when every
    contributor the feed names is known, and contributors take the name of their last line then. The whole
    feed is one transaction. Returns (counts, rejections, whether files are to be verified)."""
    reader = feeds.FeedReader(stream, fmt)
    chunks, stop = queue.Queue(maxsize=2), threading.Event()

    read_to = [0]  # how far into the feed the reader is, in bytes

    def read_up_to(position):
        read_to[0] = position
        _set_progress(progress, 5 + 80 * position / size)

    def read():
        try:
            chunk, rows = [], 0
            for batch in reader.batches(read_up_to):
                if stop.is_set():
                    return
                chunk.append(batch)
                rows += len(batch)
                if rows >= CHUNK_ROWS:
                    chunks.put((chunk, read_to[0]))
                    chunk, rows = [], 0
            chunks.put((chunk, read_to[0]))
            chunks.put(None)
        except BaseException as error:  # handed to the writer, which raises it in the request's thread
            chunks.put(error)

    def chunks_read():
        while True:
            chunk = chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    now = timezone.now()
    counts = {"created": 0, "changed": 0}
    staged, to_verify = 0, False
    try:
        with transaction.atomic(), _BulkLoad() as keys:
            _create_staging()
            for chunk, position in chunks_read():
                share = position / size if 0 < position <= size else 1  # of the feed, by bytes, up to this chunk
                written = _write_chunk(chunk, reader, now, counts, keys=keys, first=not staged, share=share)
                staged += written
                to_verify = to_verify or (written and _files_to_verify())
            if reader.held:
                written = _write_chunk([_check_rightsholders(reader)], reader, now, counts, first=not staged)
                staged += written
                to_verify = to_verify or (written and _files_to_verify())
            _set_progress(progress, 88)
            _name_contributors(reader)
            with connection.cursor() as cursor:
                counts["changed"] += _replace_rightsholders(cursor, now)
            _drop_staging()
    finally:
        # On a failure the reader may wait on a full queue: stop it, and drain the queue so that it ends.
        stop.set()
        while thread.is_alive():
            try:
                chunks.get(timeout=0.1)
            except queue.Empty:
                pass
    reader.rejections.sort(key=lambda r: r.line)
    counts.pop("all_new", None)
    counts.update(unchanged=staged - counts["created"] - counts["changed"], rows=staged + len(reader.rejections))
    return counts, reader.rejections, bool(to_verify)


def _write_chunk(batches, reader, now, counts, *, first, keys=None, share=1):
    """Stage a chunk of batches and write its works; returns how many were staged. `share` is how much of
    the feed has been read with this chunk, for the first chunk's guess at how many works the feed adds."""
    _copy_rows(STAGING_TAGS, ("raw", "tags"), [pair for batch in batches for pair in batch.tags])
    if not any(batch.text or batch.rows for batch in batches):
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"{'TRUNCATE' if connection.vendor == 'postgresql' else 'DELETE FROM'} {STAGING}")
    staged = _stage(batches, reader)
    if first:  # later chunks are of the same size and kind: the statistics stand
        _analyze_staging()
    _upsert_parties(batches, now)
    if first:
        new = _new_works()
        counts["all_new"] = new == staged
        if keys is not None and staged >= KEYS_CHECKED_ONCE_FROM and new >= staged // 2:
            # A large feed that mostly adds works: the foreign keys are checked once, at the end. A feed
            # that mostly repeats the catalogue keeps them, and the table stays open to readers.
            keys.drop(indexes=_worth_rebuilding(adding=int(new / share)))
    # Works that are new need no look-up of what the catalogue holds; a chunk after one that was all new
    # is taken to be so too (were it not, the upsert would still change only what differs).
    created, changed = _upsert(now, all_new=counts.pop("all_new", False))
    counts["created"] += created
    counts["changed"] += changed
    counts["all_new"] = created == staged
    return staged


def _set_progress(progress, value):
    if progress is not None:
        progress.set(value)


STAGED_TEXT = ("external_id", "kind", "title", "tags", "mime_type", "sha256", "storage_key", "contributor_ext",
               "contributor_name", "collection", "rightsholders")


def _create_staging():
    pg = connection.vendor == "postgresql"
    temp = "CREATE TEMP TABLE" if pg else "CREATE TEMP TABLE IF NOT EXISTS"
    tail = " ON COMMIT DROP" if pg else ""
    text, real = ("text", "double precision") if pg else ("TEXT", "REAL")
    tags = "jsonb" if pg else "TEXT"
    with connection.cursor() as cursor:
        for_set_based_work(cursor)  # for the whole ingest: its statements join a chunk with the catalogue
        # Dropped first too: inside an outer transaction (tests) ON COMMIT has not come yet.
        _drop_staging(cursor)
        # The feed's columns: text where the feed may leave them out (its tags are the feed's text, their
        # JSON is in STAGING_TAGS), numbers where the reader made sure they are whole or decimal numbers.
        cursor.execute(f"""{temp} {STAGING} (line integer, external_id {text}, kind {text}, title {text},
            tags {text} DEFAULT '', width integer, height integer, duration_seconds {real}, bytes bigint,
            mime_type {text}, sha256 {text}, storage_key {text} DEFAULT '', contributor_ext {text},
            contributor_name {text}, collection {text} DEFAULT '', rightsholders {text} DEFAULT ''){tail}""")
        cursor.execute(f"{temp} {STAGING_TAGS} (raw {text} PRIMARY KEY, tags {tags}){tail}")
        cursor.execute(f"""{temp} {STAGING_RIGHTS} (line integer, asset_ext {text}, party {text}, ref {text},
            share_bp integer){tail}""")
        cursor.execute(f"{temp} {STAGING_CONTRIBUTORS} (external_id {text}, display_name {text}){tail}")
        cursor.execute(f"{temp} {STAGING_COLLECTIONS} (name {text}, contributor_ext {text}){tail}")


def _drop_staging(cursor=None):
    if cursor is None:
        with connection.cursor() as cursor:
            return _drop_staging(cursor)
    for table in (STAGING, STAGING_RIGHTS, STAGING_CONTRIBUTORS, STAGING_COLLECTIONS, STAGING_TAGS):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _stage(batches, reader):
    """COPY the works of every batch into the staging table; returns how many. On PostgreSQL the feed's own
    lines go as they are (after their line numbers) and cleaned works are written by the csv module (in
    C); the server's COPY parses them and casts the numbers. The queued writer sends on its own thread
    while the next batch is read."""
    count = 0
    batches = iter(batches)
    first = next(batches, None)  # the reader knows the feed's columns once it has read its header
    if first is None:
        return 0
    batches = itertools.chain([first], batches)
    columns = ["line", *reader.columns]
    if connection.vendor != "postgresql":
        sql = f"INSERT INTO {STAGING} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        duration = columns.index("duration_seconds") if "duration_seconds" in columns else None
        with connection.cursor() as cursor:
            for batch in batches:
                rows = [tuple(line.rstrip("\n").split(",")) for line in batch.text.splitlines(True)] + batch.rows
                if duration is not None:
                    rows = [(*row[:duration], row[duration] if row[duration] not in ("", None) else None,
                             *row[duration + 1:]) for row in rows]
                cursor.executemany(sql, rows)
                count += len(rows)
        return count
    buffer = io.StringIO()
    # Every value quoted, so that a line break or a carriage return inside one stays inside it; an empty
    # duration is NULL all the same (FORCE_NULL).
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    text = [c for c in columns if c in STAGED_TEXT]
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        sql = (f"COPY {STAGING} ({', '.join(columns)}) FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({', '.join(text)})"
               f"{', FORCE_NULL (duration_seconds)' if 'duration_seconds' in columns else ''})")
        with raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
            for batch in batches:
                if batch.text:
                    copy.write(batch.text)
                if batch.rows:
                    writer.writerows(batch.rows)
                    copy.write(buffer.getvalue())
                    buffer.seek(0)
                    buffer.truncate()
                count += len(batch)
    return count


def _copy_rows(table, columns, rows, *, fresh=False):
    """Rows into a staging table (emptied first when `fresh`)."""
    with connection.cursor() as cursor:
        if fresh:
            cursor.execute(f"{'TRUNCATE' if connection.vendor == 'postgresql' else 'DELETE FROM'} {table}")
        if connection.vendor == "postgresql":
            with cursor.connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                               f"({', '.join(['%s'] * len(columns))})", list(rows))


def _check_rightsholders(reader):
    """Stage the rightsholder rows of the held works; refuse works whose rightsholders are neither in the
    catalogue nor named by the feed. Returns the works to stage."""
    held = reader.held
    feed_contributors = reader.feed_contributors()
    contributor_refs = {s.ref for _, shares in held for s in shares if s.party == "contributor"}
    known_contributors = feed_contributors | set(
        Contributor.objects.filter(external_id__in=contributor_refs - feed_contributors)
        .values_list("external_id", flat=True))
    organisation_refs = {s.ref for _, shares in held for s in shares if s.party == "organisation"}
    known_organisations = set(Organisation.objects.filter(slug__in=organisation_refs).values_list("slug", flat=True))
    kept, rows = [], []
    for work, shares in held:
        line, external_id = work[0], work[1]
        unknown = [f"{s.party} {s.ref}" for s in shares
                   if s.ref not in (known_contributors if s.party == "contributor" else known_organisations)]
        if unknown:
            reader.rejections.append(feeds.Rejection(line, external_id, f"rightsholder {', '.join(unknown)} of "
                                                     f"work {external_id} is not in the catalogue or this feed"))
            continue
        kept.append(work)
        rows.extend((line, external_id, s.party, s.ref, s.share_bp) for s in shares)
    _copy_rows(STAGING_RIGHTS, ("line", "asset_ext", "party", "ref", "share_bp"), rows)
    return reader.accept_held(kept)


def _analyze_staging():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The joins below are hash joins of the whole feed against the catalogue.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(f"ANALYZE {STAGING}")


def _upsert_parties(batches, now):
    """The contributors and collections a chunk names that the catalogue does not have, in one statement
    each, from tables the reader filled: nothing sorts the feed for them. A new contributor takes the name
    the chunk gives; _name_contributors settles every name at the end. A collection a feed names for the
    first time belongs to the contributor of its first work; staff can give it to a studio on its page."""
    contributor, collection = Contributor._meta.db_table, Collection._meta.db_table
    names, firsts = {}, {}
    for batch in batches:
        names.update(batch.names)
        for name, owner in batch.firsts.items():
            firsts.setdefault(name, owner)
    _copy_rows(STAGING_CONTRIBUTORS, ("external_id", "display_name"), names.items(), fresh=True)
    _copy_rows(STAGING_COLLECTIONS, ("name", "contributor_ext"), firsts.items(), fresh=True)
    params = {"now": now, "false": False}
    with connection.cursor() as cursor:
        if names:  # once the feed's contributors are known, most chunks name none new
            cursor.execute(f"""
            INSERT INTO {contributor} (external_id, display_name, opted_out, public_profile, created_at)
            SELECT n.external_id, n.display_name, %(false)s, %(false)s, %(now)s FROM {STAGING_CONTRIBUTORS} n
            WHERE NOT EXISTS (SELECT 1 FROM {contributor} o WHERE o.external_id = n.external_id)
            ON CONFLICT (external_id) DO NOTHING
        """, params)
        if firsts:
            cursor.execute(f"""
                INSERT INTO {collection} (name, owner_contributor_id, description, created_at)
                SELECT f.name, c.id, '', %(now)s FROM {STAGING_COLLECTIONS} f
                JOIN {contributor} c ON c.external_id = f.contributor_ext
                WHERE NOT EXISTS (SELECT 1 FROM {collection} k WHERE k.name = f.name)
                ON CONFLICT (name) DO NOTHING
            """, params)


def _name_contributors(reader):
    """Every contributor of the feed named by its last staged line, in one statement; a contributor who is
    named so already is not touched."""
    contributor = Contributor._meta.db_table
    _copy_rows(STAGING_CONTRIBUTORS, ("external_id", "display_name"),
               ((ext, name) for ext, (_, name) in reader.names.items()), fresh=True)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {contributor} SET display_name = n.display_name FROM {STAGING_CONTRIBUTORS} n
            WHERE {contributor}.external_id = n.external_id
              AND {_distinct(f"{contributor}.display_name", "n.display_name")}
        """)


def _new_works():
    """How many staged works the catalogue does not have yet: a lookup in the external id's unique index per
    work (a subquery, which no hash join replaces: a chunk is a small part of a large catalogue)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {STAGING} s WHERE (SELECT a.id FROM {Asset._meta.db_table} a "
                       f"WHERE a.external_id = s.external_id) IS NULL")
        return cursor.fetchone()[0]


def _files_to_verify():
    """Whether works of this feed have files not verified yet (new, or changed: the upsert clears the mark)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {STAGING} WHERE storage_key <> '')")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(f"""SELECT EXISTS (SELECT 1 FROM {STAGING} s JOIN {Asset._meta.db_table} a
            ON a.external_id = s.external_id WHERE s.storage_key <> '' AND a.verified_at IS NULL)""")
        return bool(cursor.fetchone()[0])


def _distinct(left, right):
    if connection.vendor == "postgresql":
        return f"{left} IS DISTINCT FROM {right}"
    return f"{left} IS NOT {right}"


def _changed(old, new, *, contributor, collection, tags=None):
    """SQL: the work `old` differs from the row `new` (an empty collection in a feed changes nothing)."""
    given = {"contributor_id": contributor, "tags": tags or f"{new}.tags"}
    parts = [_distinct(f"{old}.{c}", given.get(c, f"{new}.{c}")) for c in COMPARED]
    parts.append(f"({collection} IS NOT NULL AND {_distinct(f'{old}.collection_id', collection)})")
    return " OR ".join(parts)


def _upsert(now, *, all_new=False):
    """The staged works, in one INSERT … ON CONFLICT (external_id) DO UPDATE … WHERE something changed;
    returns (created, changed)."""
    asset, contributor, collection = Asset._meta.db_table, Contributor._meta.db_table, Collection._meta.db_table
    pg = connection.vendor == "postgresql"
    params = {"now": now}
    with connection.cursor() as cursor:
        columns = ", ".join(COMPARED)
        values = ", ".join({"contributor_id": "c.id", "tags": "t.tags"}.get(c, f"s.{c}") for c in COMPARED)
        updates = ", ".join(f"{c} = excluded.{c}" for c in COMPARED)
        # Rows that say what the catalogue holds are left out before the upsert: a conflict that updates
        # nothing still locks its row, and a second run of a feed would lock every work it names. Each
        # work is looked up in the external id's unique index (LATERAL … LIMIT 1, which no hash join
        # replaces: that would read the whole catalogue for every chunk).
        same = f"SELECT * FROM {asset} a WHERE a.external_id = s.external_id LIMIT 1"
        fresh = "WHERE true" if all_new else f"""
            LEFT JOIN {f"LATERAL ({same})" if pg else asset} a ON {"true" if pg else "a.external_id = s.external_id"}
            WHERE a.id IS NULL OR {_changed("a", "s", contributor="c.id", collection="k.id", tags="t.tags")}"""
        upsert = f"""
            INSERT INTO {asset} (external_id, {columns}, collection_id, created_at, updated_at)
            SELECT s.external_id, {values}, k.id, %(now)s, %(now)s FROM {STAGING} s
            JOIN {contributor} c ON c.external_id = s.contributor_ext
            JOIN {STAGING_TAGS} t ON t.raw = s.tags
            LEFT JOIN {collection} k ON k.name = s.collection AND s.collection <> ''
            {fresh}
            ON CONFLICT (external_id) DO UPDATE SET {updates},
                collection_id = COALESCE(excluded.collection_id, {asset}.collection_id),
                updated_at = excluded.updated_at, verified_at = NULL
            WHERE {_changed(asset, "excluded", contributor="excluded.contributor_id",
                            collection="excluded.collection_id")}
        """
        if pg:
            cursor.execute(f"WITH up AS ({upsert} RETURNING (xmax = 0) AS inserted) "
                           f"SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) FROM up",
                           params)
            created, updated = cursor.fetchone()
        else:
            cursor.execute(f"SELECT COUNT(*) FROM {STAGING}")
            staged = cursor.fetchone()[0]
            cursor.execute(f"SELECT COUNT(*) FROM {STAGING} s JOIN {asset} a ON a.external_id = s.external_id")
            existing = cursor.fetchone()[0]
            cursor.execute(upsert, params)
            created = staged - existing
            updated = cursor.rowcount - created
    return int(created), int(updated)


def _replace_rightsholders(cursor, now):
    """Replace the rightsholders of the works whose staged set differs from what they hold; returns how many
    works changed only by that (a work whose row changed too is counted once, there)."""
    asset, holder = Asset._meta.db_table, Rightsholder._meta.db_table
    contributor, organisation = Contributor._meta.db_table, Organisation._meta.db_table
    cursor.execute(f"SELECT COUNT(*) FROM {STAGING_RIGHTS}")
    if not cursor.fetchone()[0]:
        return 0
    want = f"""
        SELECT a.id AS asset_id, c.id AS contributor_id, o.id AS organisation_id, r.share_bp
        FROM {STAGING_RIGHTS} r JOIN {asset} a ON a.external_id = r.asset_ext
        LEFT JOIN {contributor} c ON r.party = 'contributor' AND c.external_id = r.ref
        LEFT JOIN {organisation} o ON r.party = 'organisation' AND o.slug = r.ref
    """
    have = (f"SELECT asset_id, contributor_id, organisation_id, share_bp FROM {holder} "
            f"WHERE asset_id IN (SELECT a.id FROM {STAGING_RIGHTS} r JOIN {asset} a ON a.external_id = r.asset_ext)")
    for table in ("ingest_rights_want", "ingest_rights_changed"):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMP TABLE ingest_rights_want AS {want}")
    columns = "asset_id, contributor_id, organisation_id, share_bp"
    cursor.execute(f"""
        CREATE TEMP TABLE ingest_rights_changed AS
        SELECT asset_id FROM (SELECT {columns} FROM ingest_rights_want EXCEPT SELECT {columns} FROM ({have}) h1) d1
        UNION
        SELECT asset_id FROM (SELECT {columns} FROM ({have}) h2 EXCEPT SELECT {columns} FROM ingest_rights_want) d2
    """)
    cursor.execute(f"DELETE FROM {holder} WHERE asset_id IN (SELECT asset_id FROM ingest_rights_changed)")
    cursor.execute(f"""
        INSERT INTO {holder} (asset_id, contributor_id, organisation_id, share_bp)
        SELECT w.asset_id, w.contributor_id, w.organisation_id, w.share_bp FROM ingest_rights_want w
        WHERE w.asset_id IN (SELECT asset_id FROM ingest_rights_changed)
    """)
    cursor.execute(f"SELECT COUNT(*) FROM {asset} WHERE id IN (SELECT asset_id FROM ingest_rights_changed) "
                   f"AND (updated_at IS NULL OR updated_at <> %s)", [now])
    only_rights = cursor.fetchone()[0]
    cursor.execute(f"UPDATE {asset} SET updated_at = %s WHERE id IN (SELECT asset_id FROM ingest_rights_changed)",
                   [now])
    cursor.execute("DROP TABLE ingest_rights_changed")
    cursor.execute("DROP TABLE ingest_rights_want")
    return int(only_rights)


def _worth_rebuilding(*, adding):
    """Whether the asset table's secondary indexes are cheaper built again than kept up to date through a load
    adding `adding` works. Measured on 2 cores, placing a row in the nine indexes costs about 45 µs, and
    building them about 8 µs per row of the whole table: building wins once the load adds a fifth of what
    the table holds, taken here as a quarter."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {Asset._meta.db_table} LIMIT %s) present",
                       [4 * adding + 1])
        return cursor.fetchone()[0] <= 4 * adding


class _BulkLoad:
    """For a large feed on PostgreSQL: the asset table's foreign keys dropped for the load and added back,
    validated in one join (the per-row deferred checks cost more than the load itself), and, for a feed
    large beside the catalogue, its secondary indexes dropped and built again at the end (one sort per
    index instead of placing every row in each; the primary key and the unique external id stay, which
    the upsert needs). The rows come from joins with the referenced tables, so the check finds nothing;
    it is there to prove it. The statements are part of the ingest's transaction: a failed ingest puts
    keys and indexes back with everything else. Readers of the asset table wait while it runs, as they
    would for the keys alone."""

    def __init__(self):
        self.keys, self.indexes = None, []

    def drop(self, *, indexes=False):
        if self.keys is not None or connection.vendor != "postgresql":
            return
        table = Asset._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("""
                SELECT c.conname, a.attname, f.relname, fa.attname FROM pg_constraint c
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                JOIN pg_class f ON f.oid = c.confrelid
                JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
                WHERE c.conrelid = %s::regclass AND c.contype = 'f'
            """, [table])
            self.keys = cursor.fetchall()
            for name, *_ in self.keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            if indexes:
                cursor.execute("""
                    SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = %s::regclass
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid)
                """, [table])
                self.indexes = cursor.fetchall()
                for name, _ in self.indexes:
                    cursor.execute(f'DROP INDEX "{name}"')

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if not (self.keys or self.indexes) or exc_type is not None:
            return False
        table = Asset._meta.db_table
        with connection.cursor() as cursor:
            if self.indexes:
                cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")  # one sort in memory per index
                for _, definition in self.indexes:
                    cursor.execute(definition)
                cursor.execute(f"ANALYZE {table}")  # a table that grew this much plans afresh at once
            for name, column, target, target_column in self.keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" FOREIGN KEY ({column}) '
                               f'REFERENCES {target} ({target_column}) DEFERRABLE INITIALLY DEFERRED')
        return False


# --- Checking the files -------------------------------------------------------------

def catalogue_verify(*, run_id=None, batch=200):
    """Read every unverified file that exists in storage: size, SHA-256, dimensions, duration and the
    file's training-and-mining assertion. Mismatches are written on the work for staff to see."""
    pending = Asset.objects.filter(verified_at__isnull=True).exclude(storage_key="").exclude(external_id__isnull=True)
    total = max(pending.count(), 1)
    checked = mismatched = 0
    while True:
        ids = list(pending.order_by("id").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        for asset in Asset.objects.filter(pk__in=ids).select_related("contributor"):
            report = inspect_file(asset)
            checked += 1
            mismatched += bool(report.problems)
            _record_verification(asset, report)
        if run_id is not None:
            IngestRun.objects.filter(pk=run_id).update(progress=min(99, 90 + 9 * checked // total))
    if run_id is not None:
        IngestRun.objects.filter(pk=run_id, status=IngestStatus.VERIFYING).update(
            status=IngestStatus.DONE, progress=100, files_checked=F("files_checked") + checked,
            files_mismatched=F("files_mismatched") + mismatched, finished_at=timezone.now())
    log.info("catalogue_verified", run=run_id, checked=checked, mismatched=mismatched)
    return checked, mismatched


@dataclass
class FileReport:
    problems: list = field(default_factory=list)
    signal: str = None
    signal_text: str = ""


def inspect_file(asset):
    """What the stored file says against its row. A file not in storage is reported, not read."""
    report = FileReport()
    key = asset.storage_key
    try:
        exists = default_storage.exists(key)
    except Exception:  # a key the storage refuses (outside its root): as good as missing
        exists = False
    if not exists:
        report.problems.append(f"No file in storage at {key}.")
        return report
    digest, size = hashlib.sha256(), 0
    with default_storage.open(key, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        if size != asset.bytes:
            report.problems.append(f"The file has {size:,} bytes; the row says {asset.bytes:,}.")
        if digest.hexdigest() != asset.sha256:
            report.problems.append(f"The file's SHA-256 is {digest.hexdigest()}; the row says {asset.sha256}.")
        handle.seek(0)
        measured = _measure(handle, asset.kind)
        if measured.get("error"):
            report.problems.append(measured["error"])
        else:
            if (measured["width"], measured["height"]) != (asset.width, asset.height):
                report.problems.append(f"The file is {measured['width']}×{measured['height']} px; the row says "
                                       f"{asset.width}×{asset.height}.")
            duration = measured.get("duration")
            if asset.kind == "video" and duration is not None and asset.duration_seconds is not None \
                    and abs(duration - asset.duration_seconds) > 0.5:
                report.problems.append(f"The file runs {duration:.2f} s; the row says {asset.duration_seconds:.2f} s.")
        handle.seek(0)
        assertion = rights.read_training_assertion(handle, asset.mime_type)
    if assertion is not None:
        report.signal, report.signal_text = assertion.signal, assertion.text
    return report


def _measure(handle, kind):
    try:
        if kind == "image":
            with Image.open(handle) as image:
                return {"width": image.width, "height": image.height}
        with av.open(handle) as container:
            stream = container.streams.video[0]
            duration = container.duration / 1_000_000 if container.duration else None
            if duration is None and stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            return {"width": stream.codec_context.width, "height": stream.codec_context.height,
                    "duration": duration}
    except Exception as error:  # not an image or video the readers know: say so, do not crash the job
        return {"error": f"The file cannot be read as {'an image' if kind == 'image' else 'a video'}: "
                         f"{type(error).__name__}."}


@transaction.atomic
def _record_verification(asset, report):
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    locked.verified_at = timezone.now()
    locked.verification_problems = "\n".join(report.problems)
    fields = ["verified_at", "verification_problems"]
    if report.signal is not None and (report.signal, report.signal_text) != (locked.training_signal,
                                                                              locked.training_signal_text):
        locked.training_signal, locked.training_signal_text = report.signal, report.signal_text
        locked.training_signal_cleared_at = locked.training_signal_cleared_by = None
        fields += ["training_signal", "training_signal_text", "training_signal_cleared_at",
                   "training_signal_cleared_by"]
    reserved = locked.training_signal == TrainingSignal.NOT_ALLOWED or (
        locked.training_signal == TrainingSignal.CONSTRAINED and locked.training_signal_cleared_at is None)
    if reserved != locked.training_reserved:
        locked.training_reserved = reserved
        fields.append("training_reserved")
    locked.save(update_fields=fields)
    if reserved:
        _withdraw_everywhere(locked, rights.withdrawal_text(locked))


def _withdraw_everywhere(asset, reason, now=None):
    """Withdraw the work from every slice that still holds it, with the reason its licensees read; their shards
    and manifests are written again without it and their webhooks told (services/delivery)."""
    now = now or timezone.now()
    grants = list(SliceItem.objects.filter(asset_id=asset.pk, withdrawn_at__isnull=True)
                  .values_list("pk", "licence_id", "slice_id", "asset_id"))
    withdrawn = SliceItem.objects.filter(pk__in=[g[0] for g in grants]).update(withdrawn_at=now,
                                                                               withdrawal_reason=reason)
    if grants:
        slice_items_withdrawn(grants, now=now, dedupe=f"asset:{asset.pk}:{now.timestamp()}", reason=reason)
    return withdrawn


# --- Staff decisions on one work -------------------------------------------------------

@transaction.atomic
def catalogue_take_down(*, asset, by, reason):
    """Take a work down for legal reasons: out of every slice, research and commercial, with the reason
    the licensees read; new slices leave it out. Taking down twice changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise IngestRefused(gettext("Give the reason for the takedown: the licensees holding the work are told it."))
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    if locked.taken_down_at is not None:
        return 0
    now = timezone.now()
    locked.taken_down_at, locked.takedown_reason = now, reason
    locked.save(update_fields=["taken_down_at", "takedown_reason"])
    withdrawn = _withdraw_everywhere(locked, f"Taken down: {reason}", now)
    audit(actor=by, organisation=None, action="asset.take_down", target=locked,
          payload={"reason": reason, "withdrawn_items": withdrawn})
    log.info("asset_taken_down", asset=locked.pk, items=withdrawn)
    asset.taken_down_at, asset.takedown_reason = locked.taken_down_at, locked.takedown_reason
    return withdrawn


@transaction.atomic
def catalogue_clear_training_signal(*, asset, by, note=""):
    """Staff have settled a `constrained` assertion with the rightsholder: the work may be granted again."""
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    if locked.training_signal != TrainingSignal.CONSTRAINED:
        raise IngestRefused(gettext("Only a constrained training signal can be cleared; a file that says notAllowed stays "
                                    "out of every slice."))
    if locked.training_signal_cleared_at is not None:
        return False
    locked.training_signal_cleared_at, locked.training_signal_cleared_by = timezone.now(), by
    locked.training_reserved = False
    locked.save(update_fields=["training_signal_cleared_at", "training_signal_cleared_by", "training_reserved"])
    audit(actor=by, organisation=None, action="asset.clear_training_signal", target=locked,
          payload={"constraint": locked.training_signal_text, "note": note})
    return True


def wait_for_run(run_id, timeout=60):
    """For the command: the run once it is finished (jobs may run on a worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = IngestRun.objects.get(pk=run_id)
        if run.is_finished:
            return run
        time.sleep(0.5)
    return IngestRun.objects.get(pk=run_id)
