"""Delivery of ready slices as WebDataset tar shards and prebuilt JSONL/CSV manifests, written by a job
and rewritten after withdrawals.

The job holds the slice's ShardSet row lock while it writes, so writes of one slice's shards
follow one another: a withdrawal that commits while shards are written schedules another run,
which waits for the lock and then rewrites only the shards whose range gained a withdrawn item.
Tar files are written to the default storage under names carrying the shard's version, so a
retried job overwrites its own half-written file and never one a link still points at. The same
job writes the manifests (`slice_manifests_write`), under the SliceManifest row's lock, likewise.
"""
import hashlib
import itertools
import os
import secrets
import tempfile
from collections import defaultdict
from datetime import timedelta

import structlog
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from licensing import downloads, jobs
from licensing.manifests import MEDIA_TYPES, batched, csv_header, csv_lines, jsonl_lines
from licensing.manifests.shards import ShardMember, tar_overhead, write_shard
from licensing.models import (
    Licence,
    Shard,
    ShardSet,
    ShardSetState,
    Slice,
    SliceItem,
    SliceManifest,
    SliceStatus,
)
from licensing.selectors.delivery import withdrawn_count
from licensing.selectors.slices import (
    manifest_csv_from_database,
    manifest_items,
    manifest_jsonl_from_database,
    shard_items,
)
from licensing.services.audit import audit
from licensing.services.webhooks import webhook_emit

log = structlog.get_logger(__name__)


def shard_storage_key(slice_, number, version):
    return f"shards/licence-{slice_.licence_id}/slice-{slice_.pk}/shard-{number:06d}-v{version}.tar"


def slice_shards_write(*, slice_id):
    """Write the shards and the manifests of a ready slice, or rewrite those a withdrawal made stale. Safe to
    run again: a run that finds nothing stale does nothing."""
    slice_manifests_write(slice_id=slice_id)  # first: a few seconds, where the shards may take hours
    return _shards_write(slice_id)


def _shards_write(slice_id):
    slice_ = Slice.objects.select_related("licence__organisation").filter(
        pk=slice_id, status=SliceStatus.READY).first()
    if slice_ is None:
        return None
    ShardSet.objects.get_or_create(slice=slice_)
    with transaction.atomic():
        shard_set = ShardSet.objects.select_for_update().get(slice=slice_)
        current = list(Shard.objects.filter(slice=slice_, superseded_at__isnull=True).order_by("number"))
        if shard_set.builds == 0:
            stale, written = [], _write_all(slice_)
        else:
            stale = [shard for shard in current
                     if _withdrawn_between(slice_, shard.first_position, shard.last_position) > shard.withdrawn_in_range]
            if not stale:
                return shard_set
            written = [new for shard in stale if (new := _write_range(slice_, shard)) is not None]
        now = timezone.now()
        Shard.objects.filter(pk__in=[shard.pk for shard in stale]).update(superseded_at=now)
        Shard.objects.bulk_create(written)
        live = Shard.objects.filter(slice=slice_, superseded_at__isnull=True)
        totals = live.aggregate(items=Sum("item_count"), bytes=Sum("bytes"), missing=Sum("missing_files"))
        items = SliceItem.objects.filter(slice=slice_)
        shard_set.state = ShardSetState.READY
        shard_set.builds += 1
        shard_set.built_at = now
        shard_set.items, shard_set.bytes = totals["items"] or 0, totals["bytes"] or 0
        shard_set.left_out_missing_file = totals["missing"] or 0
        shard_set.left_out_withdrawn = items.filter(withdrawn_at__isnull=False).count()
        shard_set.left_out_without_file = items.filter(withdrawn_at__isnull=True, asset__storage_key="").count()
        shard_set.save()
        audit(actor=None, organisation=slice_.licence.organisation, action="slice.shards_write", target=slice_,
              payload={"written": [[s.number, s.version] for s in written],
                       "superseded": [[s.number, s.version] for s in stale], "items": shard_set.items})
        old_keys = [shard.storage_key for shard in stale]
        # The old files hold withdrawn works: once the new index is committed nothing may serve them.
        transaction.on_commit(lambda: _delete_files(old_keys), robust=True)
    log.info("slice_shards_written", slice=slice_id, written=len(written), superseded=len(stale))
    return shard_set


def _withdrawn_between(slice_, first, last):
    return SliceItem.objects.filter(slice=slice_, position__gte=first, position__lte=last,
                                    withdrawn_at__isnull=False).count()


class _Items:
    """The slice's items with their stored files opened one at a time, skipping what cannot go into a
    shard (counting missing files); `peek` lets the writer end a shard before the item that would overfill it."""

    def __init__(self, rows):
        self.rows, self.ahead = iter(rows), None
        self.missing = 0

    def peek(self):
        while self.ahead is None:
            row = next(self.rows, None)
            if row is None:
                return None
            position, storage_key, item = row
            if item.withdrawn_at is not None:
                continue  # counted on the shard index
            if not storage_key:
                continue  # a metadata-only row: counted on the shard index
            try:
                handle = default_storage.open(storage_key, "rb")
                size = handle.size
            except Exception:
                if default_storage.exists(storage_key):
                    raise
                log.warning("shard_item_file_missing", asset=item.asset_id, key=storage_key)
                self.missing += 1
                continue
            self.ahead = (position, ShardMember(item=item, file=handle, size=size))
        return self.ahead

    def take(self):
        taken, self.ahead = self.ahead, None
        return taken


def _shard_members(items, state, *, limit_bytes, limit_items):
    while (ahead := items.peek()) is not None:
        position, member = ahead
        grown = state["bytes"] + tar_overhead(member.size) + tar_overhead(len(b"{}") + 512)
        if state["count"] and ((limit_bytes and grown > limit_bytes) or (limit_items and state["count"] >= limit_items)):
            return
        items.take()
        state["first"] = position if state["first"] is None else state["first"]
        state["last"], state["count"], state["bytes"] = position, state["count"] + 1, grown
        try:
            yield member
        finally:
            member.file.close()


def _write_shard(slice_, number, version, items, *, limit_bytes=None, limit_items=None):
    """One shard from the items ahead, or None when none are left."""
    if items.peek() is None:
        return None
    state = {"first": None, "last": None, "count": 0, "bytes": 0}
    missing_before = items.missing
    key = shard_storage_key(slice_, number, version)
    mtime = int((slice_.finished_at or slice_.created_at).timestamp())
    size, sha256 = _store(key, lambda out: write_shard(
        out, _shard_members(items, state, limit_bytes=limit_bytes, limit_items=limit_items), mtime=mtime))
    return Shard(slice=slice_, number=number, version=version, first_position=state["first"],
                 last_position=state["last"], storage_key=key, bytes=size, sha256=sha256, item_count=state["count"],
                 withdrawn_in_range=0, missing_files=items.missing - missing_before)


def _write_all(slice_):
    items = _Items(shard_items(slice_))
    shards, number = [], 0
    while True:
        shard = _write_shard(slice_, number, 1, items, limit_bytes=settings.SLICE_SHARD_MAX_BYTES,
                             limit_items=settings.SLICE_SHARD_MAX_ITEMS)
        if shard is None:
            break
        shards.append(shard)
        number += 1
    for shard in shards:
        # Withdrawn items inside a range are known now; one withdrawn later makes the shard stale.
        shard.withdrawn_in_range = _withdrawn_between(slice_, shard.first_position, shard.last_position)
    return shards


def _write_range(slice_, old):
    """The stale shard again, without its withdrawn items, as the next version of the same number."""
    items = _Items(shard_items(slice_, first_position=old.first_position, last_position=old.last_position))
    shard = _write_shard(slice_, old.number, old.version + 1, items)
    if shard is None:
        return None  # every item of the range is gone: the index simply lists no shard of that number
    # The range stays the old one, so that a withdrawal anywhere in it is noticed next time.
    shard.first_position, shard.last_position = old.first_position, old.last_position
    shard.withdrawn_in_range = _withdrawn_between(slice_, old.first_position, old.last_position)
    return shard


def _store(key, write, content_type=None):
    """Run write(file) into storage under `key`; returns write's result. On a local file system the file
    is written beside its final name and renamed into place; elsewhere it is spooled to a temporary
    file and uploaded (as `content_type`, where the storage keeps one)."""
    try:
        path = default_storage.path(key)
    except NotImplementedError:
        path = None
    if path is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.partial"
        with open(partial, "wb") as out:
            result = write(out)
        os.replace(partial, path)
        return result
    with tempfile.TemporaryFile() as spool:
        result = write(spool)
        spool.seek(0)
        if default_storage.exists(key):
            default_storage.delete(key)
        upload = File(spool, name=os.path.basename(key))
        if content_type:
            upload.content_type = content_type  # read by django-storages' S3 backend
        default_storage.save(key, upload)
    return result


def _delete_files(keys):
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # a file left behind is served by nothing: its row is superseded
            log.warning("shard_file_not_deleted", key=key)


# --- Prebuilt manifests ------------------------------------------------------------
#
# The JSONL and CSV manifests of a ready slice are written once, here, and served as files
# (views/delivery.stored_file_response: sendfile, Range, ETag). Their item links cannot hold a
# per-request secret, so they carry the slice's manifest token (downloads.manifest_token), which
# names SliceManifest.link_key; the key is rotated with every write and on revocation. The other
# way, a stored file without links and the links joined in per request, would keep the links
# timestamped but make every request rewrite every line in Python and give up sendfile, Range
# and a stable ETag: the cost prebuilding is meant to remove.



def manifest_storage_key(slice_, version, fmt):
    return f"manifests/licence-{slice_.licence_id}/slice-{slice_.pk}/v{version}-{fmt}"


def slice_manifests_write(*, slice_id):
    """Write the JSONL and CSV manifests of a ready slice to storage, or again when what they say changed (an
    item withdrawn, access revoked). Safe to run again: a run that finds them current does nothing."""
    slice_ = Slice.objects.select_related("licence__organisation").filter(
        pk=slice_id, status=SliceStatus.READY).first()
    if slice_ is None:
        return None
    manifest, _ = SliceManifest.objects.get_or_create(slice=slice_)
    if manifest.written_at is None:
        # Before the transaction: ANALYZE holds its lock to the end of it, and another slice's would wait.
        _analyze_items_if_outgrown(slice_.asset_count)
    with transaction.atomic():
        manifest = SliceManifest.objects.select_for_update().get(slice=slice_)
        # Counted before the rows are read: a withdrawal that commits in between is then in the files but
        # not in the count, and the next look finds them stale (never the other way round).
        withdrawn = withdrawn_count(slice_)
        if manifest.written_at is not None and not manifest.stale and manifest.withdrawn_items == withdrawn:
            return manifest
        now = timezone.now()
        key = secrets.token_urlsafe(16)
        prefix = downloads.asset_url_prefix(downloads.manifest_token(slice_, key))
        old_keys = [k for k in (manifest.jsonl_key, manifest.csv_key) if k]
        version = manifest.version + 1
        written = {}
        for fmt in MEDIA_TYPES:
            storage_key = manifest_storage_key(slice_, version, fmt)
            written[fmt] = (storage_key, *_store(storage_key, lambda out, fmt=fmt: _write_text(
                out, _manifest_chunks(slice_, fmt, prefix)), content_type=MEDIA_TYPES[fmt]))
        if manifest.link_key:  # a rewrite: the previous links work for as long as a timestamped one would
            manifest.previous_link_key = manifest.link_key
            manifest.previous_link_key_until = now + timedelta(seconds=settings.SLICE_LINK_TTL_SECONDS)
        manifest.link_key, manifest.version, manifest.stale = key, version, False
        manifest.withdrawn_items, manifest.written_at = withdrawn, now
        manifest.jsonl_key, manifest.jsonl_bytes, manifest.jsonl_sha256 = written["manifest.jsonl"]
        manifest.csv_key, manifest.csv_bytes, manifest.csv_sha256 = written["manifest.csv"]
        manifest.save()
        audit(actor=None, organisation=slice_.licence.organisation, action="slice.manifests_write", target=slice_,
              payload={"version": version, "withdrawn_items": withdrawn,
                       "files": {fmt: {"bytes": size, "sha256": sha} for fmt, (_, size, sha) in written.items()}})
        transaction.on_commit(lambda: _delete_files(old_keys), robust=True)
    log.info("slice_manifests_written", slice=slice_id, version=version)
    return manifest


def _analyze_items_if_outgrown(count):
    """ANALYZE the slice items when this slice alone is a tenth or more of what the statistics count.

    A large slice changes the table's statistics enough to mislead the manifest's plan, but only while
    the table is small beside it: autovacuum analyses the table again once a tenth of it changed, and a
    slice below that is no surprise to the planner. It runs here, before the first statement that reads
    the new items, rather than in the build: ANALYZE reads a sample of 30,000 rows, a fifth of a
    10,000-work build's time, and the licensee waits for the build, not for this job."""
    if count < 10_000 or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [SliceItem._meta.db_table])
        counted = cursor.fetchone()[0]
        if counted < 0 or count >= counted / 10:
            cursor.execute(f"ANALYZE {SliceItem._meta.db_table}")


def _manifest_chunks(slice_, fmt, prefix):
    """The manifest's text, from PostgreSQL's own JSON and rows where it can (the same text, a test says),
    else from the Python writers."""
    postgresql = connection.vendor == "postgresql"
    if fmt == "manifest.jsonl":
        if postgresql:
            return manifest_jsonl_from_database(slice_, url_prefix=prefix)
        return jsonl_lines(manifest_items(slice_, url_prefix=prefix))
    if postgresql and (rows := manifest_csv_from_database(slice_, url_prefix=prefix)) is not None:
        return itertools.chain([csv_header()], rows)
    return csv_lines(manifest_items(slice_, url_prefix=prefix))


def _write_text(out, chunks, size=1024 * 1024):
    """Write str or bytes chunks to `out` as UTF-8 in ~1 MiB writes; returns (bytes, sha256 hex)."""
    digest, total = hashlib.sha256(), 0
    for data in batched(chunks, size):
        out.write(data)
        digest.update(data)
        total += len(data)
    return total, digest.hexdigest()


def slice_manifest_links_revoke(*, licence, dedupe):
    """Access to the licence's slices was revoked (suspended, revoked, expired…): the links of their prebuilt
    manifests stop at once, even if access returns, and the job writes the files again with a new key.
    Call inside the transaction of the change."""
    manifests = SliceManifest.objects.filter(slice__licence=licence)
    slice_ids = sorted(manifests.values_list("slice_id", flat=True))
    if not slice_ids:
        return 0
    manifests.update(link_key="", previous_link_key="", previous_link_key_until=None, stale=True)
    audit(actor=None, organisation=licence.organisation, action="slice.manifest_links_revoke", target=licence,
          payload={"slices": slice_ids})
    for slice_id in slice_ids:
        jobs.schedule("slice.shards", slice_id=slice_id, dedupe=f"slice.shards:{slice_id}:{dedupe}")
    return len(slice_ids)


def slice_manifests_refresh(*, works_changed_since, dedupe):
    """A feed changed works (a title, a size, a file's sha256) that slices grant: their prebuilt manifests
    say the old values, so they are streamed until the job has written them again. Call inside the
    transaction of the change; returns the slices concerned."""
    manifests = SliceManifest.objects.filter(stale=False, slice__items__asset__updated_at__gte=works_changed_since)
    slice_ids = sorted(set(manifests.values_list("slice_id", flat=True)))
    if not slice_ids:
        return []
    SliceManifest.objects.filter(slice_id__in=slice_ids).update(stale=True)
    for slice_id in slice_ids:
        jobs.schedule("slice.shards", slice_id=slice_id, dedupe=f"slice.shards:{slice_id}:{dedupe}")
    return slice_ids


# --- After a withdrawal --------------------------------------------------------------

# Asset ids per items.withdrawn message: Standard Webhooks asks for small payloads (under ~20 kB).
WITHDRAWN_PER_MESSAGE = 1000


def slice_items_withdrawn(grants, *, now, dedupe, reason):
    """What follows items withdrawn from slices, whatever withdrew them (an opt-out, a takedown, a file's
    assertion): the slices' shards and manifests are written again without them, and each licence's
    webhooks are told which assets to purge and why; in the withdrawal's transaction, through the outbox.
    `grants` are (item id, licence id, slice id, asset id); `reason` is the one the items record."""
    by_licence = defaultdict(list)
    for _, licence_id, slice_id, asset_id in grants:
        by_licence[licence_id].append((slice_id, asset_id))
    for slice_id in sorted({g[2] for g in grants}):
        jobs.schedule("slice.shards", slice_id=slice_id, dedupe=f"slice.shards:{slice_id}:{dedupe}")
    organisations = dict(Licence.objects.filter(pk__in=list(by_licence)).values_list("pk", "organisation_id"))
    for licence_id, items in sorted(by_licence.items()):
        items.sort()
        for start in range(0, len(items), WITHDRAWN_PER_MESSAGE):
            chunk = items[start:start + WITHDRAWN_PER_MESSAGE]
            webhook_emit(organisation_id=organisations[licence_id], event_type="items.withdrawn", now=now, data={
                "licence": licence_id, "reason": reason, "withdrawn_at": now,
                "slices": sorted({slice_id for slice_id, _ in chunk}),
                "asset_ids": sorted({asset_id for _, asset_id in chunk}),
                "items": [{"slice": slice_id, "asset_id": asset_id} for slice_id, asset_id in chunk],
                "feed": settings.SITE_URL + f"/api/v1/licences/{licence_id}/withdrawals/",
            })
