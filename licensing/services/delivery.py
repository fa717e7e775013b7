"""Delivery of ready slices as WebDataset tar shards, written by a job and rewritten after withdrawals.

The job holds the slice's ShardSet row lock while it writes, so writes of one slice's shards
follow one another: a withdrawal that commits while shards are written schedules another run,
which waits for the lock and then rewrites only the shards whose range gained a withdrawn item.
Tar files are written to the default storage under names carrying the shard's version, so a
retried job overwrites its own half-written file and never one a link still points at.
"""
import os
import tempfile

import structlog
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from licensing.manifests.shards import ShardMember, tar_overhead, write_shard
from licensing.models import (
    Shard,
    ShardSet,
    ShardSetState,
    Slice,
    SliceItem,
    SliceStatus,
)
from licensing.selectors.slices import shard_items
from licensing.services.audit import audit

log = structlog.get_logger(__name__)


def shard_storage_key(slice_, number, version):
    return f"shards/licence-{slice_.licence_id}/slice-{slice_.pk}/shard-{number:06d}-v{version}.tar"


def slice_shards_write(*, slice_id):
    """Write the shards of a ready slice, or rewrite those a withdrawal made stale. Safe to run again:
    a run that finds nothing stale does nothing."""
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


def _store(key, write):
    """Run write(file) into storage under `key`; returns write's result. On a local file system the tar
    is written beside its final name and renamed into place; elsewhere it is spooled to a temporary
    file and uploaded."""
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
        default_storage.save(key, File(spool, name=os.path.basename(key)))
    return result


def _delete_files(keys):
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # a file left behind is served by nothing: its row is superseded
            log.warning("shard_file_not_deleted", key=key)
