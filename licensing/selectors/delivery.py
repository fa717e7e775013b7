"""Reads about a slice's delivery: its shard index, its prebuilt manifests, and the withdrawals feed of a licence."""
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from licensing import downloads, rights
from licensing.manifests.items import timestamp
from licensing.models import Shard, ShardSet, ShardSetState, SliceItem, SliceManifest


def current_shards(slice_):
    return Shard.objects.filter(slice=slice_, superseded_at__isnull=True).order_by("number")


def shard_index(slice_, *, token=None):
    """The shard index of a ready slice as JSON: every current shard with a signed link, and what was
    left out of the shards and why."""
    token = token or downloads.slice_token(slice_)
    shard_set = ShardSet.objects.filter(slice=slice_).first()
    state = shard_set.state if shard_set else ShardSetState.PENDING
    shards = list(current_shards(slice_)) if state == ShardSetState.READY else []
    left_out = {
        "without_file": shard_set.left_out_without_file if shard_set else 0,
        "missing_file": shard_set.left_out_missing_file if shard_set else 0,
        "withdrawn": shard_set.left_out_withdrawn if shard_set else 0,
    }
    return {
        "slice": slice_.pk,
        "licence": slice_.licence_id,
        "format": "webdataset",
        "state": state,
        "built_at": timestamp(shard_set.built_at) if shard_set else None,
        "shard_count": len(shards),
        "items": shard_set.items if shard_set else 0,
        "bytes": shard_set.bytes if shard_set else 0,
        "left_out": left_out,
        "note": _note(state, left_out),
        "links_expire_at": timestamp(timezone.now() + timedelta(seconds=settings.SLICE_LINK_TTL_SECONDS)),
        "index_url": downloads.shard_index_url(token),
        "shards": [
            {"number": s.number, "version": s.version, "name": s.filename, "url": downloads.shard_url(token, s),
             "bytes": s.bytes, "sha256": s.sha256, "items": s.item_count,
             "first_position": s.first_position, "last_position": s.last_position}
            for s in shards
        ],
    }


def _note(state, left_out):
    if state != ShardSetState.READY:
        return "The shards are being written: fetch this index again in a minute."
    parts = []
    if left_out["without_file"]:
        parts.append(f"{left_out['without_file']} metadata-only catalogue rows have no file and are in no shard")
    if left_out["missing_file"]:
        parts.append(f"{left_out['missing_file']} files were missing from storage; the licensor has been told")
    if left_out["withdrawn"]:
        parts.append(f"{left_out['withdrawn']} withdrawn items are in no shard")
    return ("; ".join(parts) + ".") if parts else "Every item of the slice is in a shard."


def withdrawals_of(*, licence, now=None):
    """Items withdrawn from the licence's slices, settled (see WITHDRAWALS_FEED_SETTLE_SECONDS), in
    (withdrawn_at, id) order, the feed's cursor order."""
    now = now or timezone.now()
    settled = now - timedelta(seconds=settings.WITHDRAWALS_FEED_SETTLE_SECONDS)
    return (SliceItem.objects.filter(licence=licence, withdrawn_at__isnull=False, withdrawn_at__lte=settled)
            .order_by("withdrawn_at", "id"))


def manifest_key_accepted(slice_, key, *, now=None):
    """Whether a prebuilt manifest's link key still opens the slice's files (models.SliceManifest)."""
    row = SliceManifest.objects.filter(slice=slice_).values_list(
        "link_key", "previous_link_key", "previous_link_key_until").first()
    if row is None or not key:
        return False
    current, previous, until = row
    return key == current or (key == previous and until is not None and (now or timezone.now()) < until)


def withdrawn_count(slice_):
    """How many of the slice's items are withdrawn: a probe of the partial index of withdrawn items."""
    return SliceItem.objects.filter(slice=slice_, withdrawn_at__isnull=False).count()


def current_manifest_file(slice_, fmt):
    """(storage key, bytes, sha256) of the slice's prebuilt manifest in `fmt`, or None while there is none that
    says what the slice holds now: not written yet, access revoked since, or an item withdrawn since."""
    manifest = SliceManifest.objects.filter(slice=slice_, written_at__isnull=False, stale=False).first()
    if manifest is None or manifest.file_of(fmt) is None:
        return None
    if withdrawn_count(slice_) != manifest.withdrawn_items:
        return None  # the job that writes it again is scheduled with the withdrawal
    return manifest.file_of(fmt)


def withdrawal_reasons(slice_):
    """Why the slice's items were withdrawn, as its page says it: [{"text", "items"}], most items first."""
    rows = (SliceItem.objects.filter(slice=slice_, withdrawn_at__isnull=False).values("withdrawal_reason")
            .annotate(items=Count("id")).order_by("-items", "withdrawal_reason"))
    merged = {}
    for row in rows:  # an empty reason (recorded before reasons were) is an opt-out's
        text = rights.withdrawal_reason_text(row["withdrawal_reason"])
        merged[text] = merged.get(text, 0) + row["items"]
    return [{"text": text, "items": items} for text, items in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]
