"""Slices: requested under the licence's caps, built by one set-based statement in a job.

The request reserves assets and a slice on the licence row, under its lock, so no
number of concurrent requests can promise more than the caps. The build takes the
same lock, so builds of one licence happen one at a time and the byte cap — which is
only known once the assets are picked — is enforced against what earlier builds used.
"""
import math
import random
import unicodedata

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext

from licensing import formats, jobs, workflow
from licensing.db import for_set_based_work, lock_consent
from licensing.models import (
    Asset,
    Contributor,
    Licence,
    LicenceState,
    MediaKind,
    OfferCoverage,
    Slice,
    SliceItem,
    SliceStatus,
)
from licensing.selectors.slices import (
    is_whole_collection_grant,
    picked_sql,
)
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit
from licensing.services.collections import lock_exclusivity
from licensing.services.webhooks import webhook_emit

log = structlog.get_logger(__name__)

KINDS = tuple(MediaKind.values)


class SliceRefused(Exception):
    """A slice request that cannot be granted; the message says why and what remains.

    `fields` names the filters at fault, {name: [problem]}, so that a form or a serializer
    can show each problem beside the field it is about."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.fields = fields or {}


class SliceBuildFailed(Exception):
    """A build that cannot succeed; the message is shown to the licensee."""


# What a filter may ask for. Wider than any asset in a catalogue, narrow enough for the columns
# (width and height are integers, durations doubles) and for the tags the API documents.
MAX_PIXELS = 1_000_000
MAX_DURATION_SECONDS = 7 * 24 * 3600
MAX_TAGS = 20
MAX_TAG_LENGTH = 50


def _filter_problems(*, kind, min_width, min_height, min_duration, max_duration, tags):
    """(field, the problem as a sentence, the problem as said beside the field) for every filter
    value no slice can be built from."""
    problems = []
    if kind not in (None, "", *KINDS):
        problems.append(("kind", f"kind must be one of {', '.join(KINDS)}", gettext("Must be one of %(kinds)s.")
                         % {"kinds": ", ".join(KINDS)}))
    for name, value in (("min_width", min_width), ("min_height", min_height)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            problems.append((name, f"{name} must be a whole number of pixels, 0 or more",
                             gettext("Must be a whole number of pixels, 0 or more.")))
        elif value is not None and value > MAX_PIXELS:
            problems.append((name, f"{name} can be at most {MAX_PIXELS:,} pixels",
                             gettext("At most %(pixels)s pixels.") % {"pixels": formats.count(MAX_PIXELS)}))
    for name, value in (("min_duration", min_duration), ("max_duration", max_duration)):
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                  or not math.isfinite(value) or value < 0):
            problems.append((name, f"{name} must be a number of seconds, 0 or more",
                             gettext("Must be a number of seconds, 0 or more.")))
        elif value is not None and value > MAX_DURATION_SECONDS:
            problems.append((name, f"{name} can be at most {MAX_DURATION_SECONDS:,} seconds (7 days)",
                             gettext("At most %(seconds)s seconds (7 days).")
                             % {"seconds": formats.count(MAX_DURATION_SECONDS)}))
    if min_duration is not None and max_duration is not None and not problems and min_duration > max_duration:
        problems.append(("max_duration", "min_duration must not be greater than max_duration",
                         gettext("Must be at least min_duration.")))
    if (min_duration is not None or max_duration is not None) and kind == "image":
        problems.append(("kind", "durations apply to videos only: drop them or ask for kind video",
                         gettext("Durations apply to videos only.")))
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            problems.append(("tags", "tags must be a list of words", gettext("Must be a list of words.")))
        elif len(tags) > MAX_TAGS:
            problems.append(("tags", f"give at most {MAX_TAGS} tags, not {len(tags)}",
                             gettext("At most %(most)s tags, not %(count)s.") % {"most": MAX_TAGS, "count": len(tags)}))
        elif any(len(t) > MAX_TAG_LENGTH for t in tags):
            long = next(t for t in tags if len(t) > MAX_TAG_LENGTH)
            said = f"a tag can be at most {MAX_TAG_LENGTH} characters; “{long[:20]}…” has {len(long):,}"
            problems.append(("tags", said,
                             gettext("A tag can be at most %(length)s characters; “%(tag)s…” has %(count)s.")
                             % {"length": MAX_TAG_LENGTH, "tag": long[:20], "count": formats.count(len(long))}))
        elif any(unicodedata.category(c) in ("Cc", "Cs") for t in tags for c in t):
            # The filters are stored as JSON, which PostgreSQL refuses to hold a NUL or a lone surrogate in.
            problems.append(("tags", "tags cannot contain control characters",
                             gettext("Cannot contain control characters.")))
    return problems


def clean_filters(*, kind=None, min_width=None, min_height=None, min_duration=None, max_duration=None, tags=None):
    """The filters as stored on the slice, with every problem named."""
    problems = _filter_problems(kind=kind, min_width=min_width, min_height=min_height, min_duration=min_duration,
                                max_duration=max_duration, tags=tags)
    if problems:
        fields = {}
        for name, _, beside in problems:
            fields.setdefault(name, []).append(beside)
        raise SliceRefused(gettext("Cannot request this slice: %(problems)s.")
                           % {"problems": "; ".join(said for _, said, _ in problems)}, fields)
    filters = {"kind": kind or None, "min_width": min_width, "min_height": min_height,
               "min_duration": min_duration, "max_duration": max_duration, "tags": sorted(set(tags)) if tags else None}
    if filters["kind"] is None and (min_duration is not None or max_duration is not None):
        filters["kind"] = "video"
    return {key: value for key, value in filters.items() if value is not None}


def slice_request(*, licence, by, size, seed=None, api_key=None, **filter_values):
    if not isinstance(size, int) or size < 1:
        raise SliceRefused(gettext("Cannot request this slice: size must be a whole number of assets, 1 or more."))
    if size > settings.SLICE_MAX_SIZE:
        raise SliceRefused(gettext("Cannot request this slice: one slice holds at most %(size)s assets.")
                           % {"size": formats.count(settings.SLICE_MAX_SIZE)})
    filters = clean_filters(**filter_values)
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    elif not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise SliceRefused(gettext("Cannot request this slice: seed must be a whole number from 0 to 2147483647."))
    with transaction.atomic():
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        _check_can_grant(locked, size)
        number = (Slice.objects.filter(licence=locked).aggregate(n=Max("number"))["n"] or 0) + 1
        slice_ = Slice.objects.create(
            licence=locked, number=number, phase=locked.phase, filters=filters, seed=seed, size_requested=size,
            reserved_assets=size, requested_by=by,
        )
        locked.used_assets += size
        locked.used_slices += 1
        locked.save(update_fields=["used_assets", "used_slices", "updated_at"])
        audit(actor=by, api_key=api_key, organisation=locked.organisation, action="slice.request", target=slice_,
              payload={"size": size, "seed": seed, "filters": filters})
        jobs.schedule("slice.build", slice_id=slice_.pk, dedupe=f"slice.build:{slice_.pk}")
    log.info("slice_requested", slice=slice_.pk, licence=locked.pk, size=size)
    return slice_


def _check_can_grant(licence, size):
    if licence.state not in workflow.ACTIVE:
        raise SliceRefused(
            gettext("Slices can be requested only while the licence is active; it is %(state)s.")
            % {"state": workflow.state_in_sentence(licence.state)}
        )
    ends_at = licence.ends_at
    if ends_at is not None and ends_at <= timezone.now():
        raise SliceRefused(gettext("The licence ended on %(ends_at)s: no more slices can be requested.")
                           % {"ends_at": formats.day(ends_at)})
    caps, remaining = licence.caps, licence.remaining
    if remaining["slices"] == 0:
        raise SliceRefused(gettext("No slices remain: this licence allows %(slices)s and all have been requested.")
                           % {"slices": caps["slices"]})
    if remaining["bytes"] == 0:
        raise SliceRefused(gettext("No data volume remains: this licence's cap of %(bytes)s bytes is used up.")
                           % {"bytes": formats.count(caps["bytes"])})
    if remaining["assets"] is not None and size > remaining["assets"]:
        raise SliceRefused(
            gettext("You asked for %(size)s assets but only %(remaining)s remain under this licence's cap of "
                    "%(cap)s.")
            % {"size": formats.count(size), "remaining": formats.count(remaining["assets"]),
               "cap": formats.count(caps["assets"])}
        )


# --- The build ------------------------------------------------------------------

def slice_build(*, slice_id):
    """Build a queued slice. Safe to run any number of times: one build wins, the rest find nothing to do.

    A worker killed mid-build leaves its transaction rolled back (no half slice) and the
    row still `building`; its redelivered job takes the row lock the dead one released.
    """
    Slice.objects.filter(pk=slice_id, status=SliceStatus.QUEUED).update(
        status=SliceStatus.BUILDING, started_at=timezone.now(), progress=5, attempts=F("attempts") + 1
    )
    try:
        with transaction.atomic():
            slice_ = Slice.objects.select_for_update().filter(
                pk=slice_id, status=SliceStatus.BUILDING
            ).first()
            if slice_ is None:
                return None  # built or failed, perhaps by a delivery we waited for
            licence = Licence.objects.select_for_update().get(pk=slice_.licence_id)
            if licence.state not in workflow.ACTIVE:
                raise SliceBuildFailed(
                    gettext("The licence became %(state)s before the slice was built.")
                    % {"state": workflow.state_in_sentence(licence.state)}
                )
            # Exclusive deals are decided one at a time against all builds (services/collections.py).
            lock_exclusivity(shared=True)
            SliceItem.objects.filter(slice=slice_).delete()
            bytes_cap = licence.caps["bytes"]
            budget = None if bytes_cap is None else max(bytes_cap - licence.used_bytes, 0)
            if is_whole_collection_grant(slice_):
                budget = None  # the deal is the collections, whole: no size cap, no byte cap
            count, total_bytes, contributor_ids = _insert_items(slice_, budget)
            dropped, dropped_bytes = _drop_contributors_who_opted_out_meanwhile(slice_, contributor_ids)
            count, total_bytes = count - dropped, total_bytes - dropped_bytes
            if count == 0:
                raise SliceBuildFailed(_why_nothing_was_granted(slice_, budget, bytes_cap))
            licence.used_assets += count - slice_.reserved_assets
            licence.used_bytes += total_bytes
            licence.save(update_fields=["used_assets", "used_bytes", "updated_at"])
            slice_.status, slice_.progress = SliceStatus.READY, 100
            slice_.asset_count, slice_.total_bytes, slice_.reserved_assets = count, total_bytes, 0
            slice_.finished_at = timezone.now()
            slice_.save(update_fields=["status", "progress", "asset_count", "total_bytes", "reserved_assets",
                                       "finished_at"])
            jobs.schedule("slice.shards", slice_id=slice_.pk, dedupe=f"slice.shards:{slice_.pk}:built")
            webhook_emit(organisation_id=licence.organisation_id, event_type="slice.ready", data=slice_event(slice_))
            audit(actor=None, organisation=licence.organisation, action="slice.ready", target=slice_,
                  payload={"number": slice_.number, "assets": count, "bytes": total_bytes})
            transaction.on_commit(transparency_changed)
    except SliceBuildFailed as failure:
        slice_fail(slice_id=slice_id, reason=str(failure))
        return None
    except Exception:
        log.exception("slice_build_crashed", slice=slice_id)
        slice_fail(slice_id=slice_id, reason="The slice could not be built because of an internal error. "
                                              "The licensor has been told; ask again later.")
        raise
    log.info("slice_built", slice=slice_id, assets=count, bytes=total_bytes)
    return slice_


def _why_nothing_was_granted(slice_, budget, bytes_cap):
    """Tell a byte cap that is too small for the next asset from filters that match nothing."""
    if budget is not None:
        try:
            with transaction.atomic():
                matching, _, _ = _insert_items(slice_, None)
                raise _Probe(matching)
        except _Probe as probe:
            if probe.args[0]:
                return (f"Only {budget:,} bytes remain under this licence's data cap of {bytes_cap:,}: not enough for "
                        "the next matching asset. Ask the licensor for a larger cap.")
    if is_whole_collection_grant(slice_):
        return ("The collections hold no work that can be granted: they are empty, or their works are taken down, "
                "reserved from AI training or held exclusively by another licence.")
    return ("No assets match these filters once opted-out contributors and assets already granted to this licence "
            "are left out. Widen the filters and ask again.")


class _Probe(Exception):
    """Rolls back a trial selection, carrying what it found."""


def slice_fail(*, slice_id, reason):
    """End a slice as failed and give its reservation back to the licence. Idempotent."""
    with transaction.atomic():
        slice_ = Slice.objects.select_for_update().filter(
            pk=slice_id, status__in=[SliceStatus.QUEUED, SliceStatus.BUILDING]
        ).first()
        if slice_ is None:
            return None
        licence = Licence.objects.select_for_update().get(pk=slice_.licence_id)
        licence.used_assets = max(licence.used_assets - slice_.reserved_assets, 0)
        licence.used_slices = max(licence.used_slices - 1, 0)
        licence.save(update_fields=["used_assets", "used_slices", "updated_at"])
        slice_.status, slice_.failure_reason, slice_.reserved_assets = SliceStatus.FAILED, reason, 0
        slice_.finished_at = timezone.now()
        slice_.save(update_fields=["status", "failure_reason", "reserved_assets", "finished_at"])
        webhook_emit(organisation_id=licence.organisation_id, event_type="slice.failed", data=slice_event(slice_))
        audit(actor=None, organisation=licence.organisation, action="slice.failed", target=slice_,
              payload={"number": slice_.number, "reason": reason})
    log.warning("slice_failed", slice=slice_id, reason=reason)
    return slice_


def slice_event(slice_):
    """What a slice.ready or slice.failed webhook says about the slice."""
    data = {"slice": slice_.pk, "licence": slice_.licence_id, "number": slice_.number, "status": slice_.status,
            "asset_count": slice_.asset_count, "total_bytes": slice_.total_bytes,
            "url": settings.SITE_URL + f"/api/v1/slices/{slice_.pk}/"}
    if slice_.status == SliceStatus.FAILED:
        data["reason"] = slice_.failure_reason
    else:
        data["shards"] = settings.SITE_URL + f"/api/v1/slices/{slice_.pk}/shards/"
    return data


def selection_sql(slice_, budget):
    """The statement that grants the slice: the picked assets (`picked_sql`) inserted as its
    items. On PostgreSQL it also returns the count and bytes granted, and the contributors of
    the granted works (for `_drop_contributors_who_opted_out_meanwhile`)."""
    item = SliceItem._meta.db_table
    picked, params = picked_sql(slice_, budget)
    # Written in the works' order, not the slice's: two of the four indexes a build writes lead with the work
    # (or the licence, then the work), and placing the rows in that order visits each of their pages once
    # instead of at random (a third off a 100,000-work build). `position` keeps the slice's order.
    insert = f"INSERT INTO {item} (slice_id, licence_id, asset_id, position, withdrawn_at, withdrawal_reason) " \
             f"SELECT %(slice)s, %(licence)s, picked.id, picked.rn, NULL, %(no_reason)s FROM picked ORDER BY picked.id"
    if connection.vendor == "postgresql":
        # One statement grants the items and reports what was granted: the running total of the
        # last item is the bytes of the slice.
        # RECURSIVE only lets the INSERT come before the selection it reads: pg_stat_activity keeps
        # a statement's first kilobyte, and should show what this one does.
        return f"""
            WITH RECURSIVE granted AS ({insert}),
            picked AS MATERIALIZED ({picked})
            SELECT COUNT(*), COALESCE(MAX(running), 0), array_agg(DISTINCT contributor_id) FROM picked
        """, params
    return f"WITH picked AS ({picked}) {insert}", params


def slice_grant_collections(*, licence_id):
    """The whole-collection grant of a commercial licence whose offer covers listed collections: one slice
    holding every work of them that may be granted, with no size cap. Run once per licence; idempotent."""
    with transaction.atomic():
        licence = Licence.objects.select_for_update().filter(pk=licence_id).first()
        if licence is None or licence.state != LicenceState.COMMERCIAL_ACTIVE \
                or licence.offer_coverage != OfferCoverage.COLLECTIONS:
            return None
        existing = Slice.objects.filter(licence=licence, filters__whole_collections=True).first()
        if existing is not None:
            slice_ = existing
        else:
            collection_ids = sorted(licence.offer_collections.values_list("pk", flat=True))
            size = Asset.objects.filter(collection_id__in=collection_ids).count()
            number = (Slice.objects.filter(licence=licence).aggregate(n=Max("number"))["n"] or 0) + 1
            slice_ = Slice.objects.create(
                licence=licence, number=number, phase=licence.phase, seed=0, size_requested=max(size, 1),
                filters={"collections": collection_ids, "whole_collections": True},
            )
            licence.used_slices += 1
            licence.save(update_fields=["used_slices", "updated_at"])
            audit(actor=None, organisation=licence.organisation, action="slice.grant_collections", target=slice_,
                  payload={"collections": collection_ids})
    if slice_.status == SliceStatus.QUEUED or slice_.status == SliceStatus.BUILDING:
        slice_build(slice_id=slice_.pk)
    return Slice.objects.get(pk=slice_.pk)


def _insert_items(slice_, budget):
    """Grant the items; returns (count, bytes, the contributors of the granted works or None)."""
    sql, params = selection_sql(slice_, budget)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for_set_based_work(cursor, work_mem="64MB")  # the top-N sort of the candidates in memory
            cursor.execute(sql, params)
            count, total, contributors = cursor.fetchone()
            return int(count), int(total), contributors or []
        cursor.execute(sql, params)
    return *_totals(slice_), None


def _drop_contributors_who_opted_out_meanwhile(slice_, contributor_ids):
    """Serialise the build with opt-outs, in both orders.

    The selection reads a snapshot: an opt-out that commits while it runs is not seen by it,
    and the opt-out's withdrawal cannot see this build's uncommitted items. So, before the
    build commits, it takes the consent lock shared (`lock_consent`), which an opt-out holds
    alone for its whole transaction, and looks again at which contributors of its items
    (`contributor_ids`, as the selection returned them) opted out. An opt-out that committed
    before the lock is seen here and its works leave the slice; one still running is waited
    for, then seen; one that comes later waits for this commit and then withdraws the items
    like any others. The lock is held only from here to the commit, and the look reads the
    contributors without writing them, where a share lock on each would write every
    contributor's row, one page each at 10 million works. Returns (items, bytes) that
    left. SQLite runs one writing transaction at a time, so there the question does not arise."""
    if connection.vendor != "postgresql" or not contributor_ids:
        return 0, 0
    item, asset, contributor = SliceItem._meta.db_table, Asset._meta.db_table, Contributor._meta.db_table
    lock_consent(shared=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT array_agg(c.id) FROM {contributor} c "
                       f"WHERE c.opted_out AND c.id = ANY(%(ids)s::bigint[])", {"ids": contributor_ids})
        leaving = cursor.fetchone()[0]
        if not leaving:
            return 0, 0
        cursor.execute(f"""
            WITH dropped AS (
                DELETE FROM {item} i USING {asset} a
                WHERE i.slice_id = %(slice)s AND a.id = i.asset_id AND a.contributor_id = ANY(%(leaving)s::bigint[])
                RETURNING a.bytes
            )
            SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM dropped
        """, {"slice": slice_.pk, "leaving": leaving})
        dropped, dropped_bytes = cursor.fetchone()
    log.info("slice_items_dropped_for_opt_out", slice=slice_.pk, items=dropped)
    return int(dropped), int(dropped_bytes)


def _totals(slice_):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(a.bytes), 0) FROM {SliceItem._meta.db_table} i "
            f"JOIN {Asset._meta.db_table} a ON a.id = i.asset_id WHERE i.slice_id = %s",
            [slice_.pk],
        )
        count, total = cursor.fetchone()
    return int(count), int(total)
