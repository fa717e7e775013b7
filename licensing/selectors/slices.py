"""Which slices a person may see, and a slice's items as its manifests list them."""
import hashlib
import json
import re
import weakref
import zlib
from dataclasses import dataclass

from django.db import (
    DatabaseError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    connection,
)
from django.http import Http404

from licensing.manifests import ManifestItem
from licensing.models import (
    Asset,
    Contributor,
    Licence,
    LicencePhase,
    RANK_SPACE,
    OfferCoverage,
    Slice,
    SliceItem,
    SliceManifest,
)
from licensing.selectors.collections import exclusive_exclusion_sql
from licensing.selectors.licences import licences_visible_to


def slices_of_organisation(*, organisation_id):
    # licences_of_organisation's rule (the organisation's own licences) as a join: the same rows, and a
    # third cheaper for Django to compile than the subquery on every API read of a slice.
    return Slice.objects.filter(licence__organisation_id=organisation_id)

PREVIEW_SAMPLE = 12
PREVIEW_COUNT_UP_TO = 100_000
WORKS_PAGE = 48


def slices_visible_to(*, user):
    return Slice.objects.select_related("licence__organisation").filter(
        licence__in=licences_visible_to(user=user).values("pk")
    )


def slice_visible_to(*, user, pk):
    try:
        return slices_visible_to(user=user).get(pk=pk)
    except Exception as error:
        if isinstance(error, (Slice.DoesNotExist, ValueError)):
            raise Http404("No such slice.") from None
        raise


ITEM_COLUMNS = ("asset_id", "asset__kind", "asset__title", "asset__mime_type", "asset__bytes", "asset__sha256",
                "asset__width", "asset__height", "asset__duration_seconds", "asset__contributor_id", "withdrawn_at",
                "withdrawal_reason")


def _manifest_item(row, url_prefix):
    asset_id, kind, title, mime, size, sha, width, height, duration, contributor_id, withdrawn_at, reason = row
    return ManifestItem.granted(
        asset_id=asset_id, kind=kind, title=title, mime_type=mime, bytes=size, sha256=sha, width=width,
        height=height, duration_seconds=duration, contributor_id=contributor_id, url_prefix=url_prefix,
        withdrawn_at=withdrawn_at, withdrawal_reason=reason,
    )


def manifest_items(slice_, *, url_prefix):
    """The slice's items for a manifest, streamed from the database in position order."""

    rows = (
        SliceItem.objects.filter(slice=slice_)
        .order_by("position")
        .values_list(*ITEM_COLUMNS)
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield _manifest_item(row, url_prefix)


def shard_items(slice_, *, first_position=None, last_position=None):
    """(position, storage_key, ManifestItem) of the slice's items in position order, as the manifests
    map them, for the shards; withdrawn items included (the writer leaves them out and counts them)."""
    items = SliceItem.objects.filter(slice=slice_)
    if first_position is not None:
        items = items.filter(position__gte=first_position, position__lte=last_position)
    rows = items.order_by("position").values_list("position", "asset__storage_key", *ITEM_COLUMNS)
    for position, storage_key, *row in rows.iterator(chunk_size=2000):
        yield position, storage_key, _manifest_item(row, "")


@dataclass(frozen=True, slots=True)
class DownloadableItem:
    """What a download needs to know about one granted item, read in one query."""

    asset_id: int
    licence_id: int
    licence_state: str
    withdrawn_at: object
    storage_key: str
    sha256: str
    mime_type: str
    contributor_id: int
    opted_out: bool
    withdrawal_reason: str
    reserved_from_training: bool  # an opt-out, the file's own training assertion, or a takedown
    # The slice's manifest link keys (models.SliceManifest), for the links of a prebuilt manifest.
    link_key: str | None = None
    previous_link_key: str | None = None
    previous_link_key_until: object = None

    def accepts_manifest_key(self, key, now):
        return bool(key) and (key == self.link_key or (
            key == self.previous_link_key and self.previous_link_key_until is not None
            and now < self.previous_link_key_until))


def downloadable_item(*, licence_id, slice_id, asset_id):
    """The item of a signed link in one indexed query (a download is the hottest path there is), or None
    when the slice, its licence or the item is not there. Plain SQL: building the ORM's query cost more
    than running it."""
    row = _fetch_one_checked_by_use(_DOWNLOADABLE_SQL, [slice_id, licence_id, asset_id])
    if row is None:
        return None
    return DownloadableItem(asset_id, licence_id, *row)


def _fetch_one_checked_by_use(sql, params):
    """The download's query at the least cost per call.

    - No CONN_HEALTH_CHECKS `SELECT 1` first: on a reused connection that check was a round trip as long
      as the query, for every download. The query checks the connection instead: one found dead (the
      server restarted) is closed and the query runs once more on a new one.
    - On PostgreSQL, a prepared statement, prepared once per connection: planning the five-table join
      cost PostgreSQL several times what running it did (measured in a PL/pgSQL loop: about 0.5 ms planned
      each time, 0.05-0.1 ms from a cached plan). Django's psycopg connections prepare nothing themselves.
    Inside a transaction (tests, or a caller's atomic block) it is an ordinary query: nothing is retried."""
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    connection.health_check_done = True
    try:
        return _fetch_one_prepared(sql, params)
    except (OperationalError, InterfaceError):
        connection.close()
    return _fetch_one_prepared(sql, params)


_PREPARED = weakref.WeakKeyDictionary()  # psycopg connection -> names of the statements prepared on it


def _fetch_one_prepared(sql, params):
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.fetchone()
        name = f"tessera_{zlib.crc32(sql.encode()):08x}"
        prepared = _PREPARED.setdefault(connection.connection, set())
        for attempt in range(2):
            if name not in prepared:
                numbered = iter(range(1, sql.count("%s") + 1))
                cursor.execute(f"PREPARE {name} AS " + re.sub("%s", lambda _: f"${next(numbered)}", sql))
                prepared.add(name)
            try:
                cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
                return cursor.fetchone()
            except (ProgrammingError, NotSupportedError):
                # Deallocated behind our back (DISCARD ALL by a pooler), or a migration changed a column's
                # type under the plan: prepare it again, once.
                prepared.discard(name)
                if attempt:
                    raise
                try:
                    cursor.execute(f"DEALLOCATE {name}")
                except DatabaseError:
                    pass
        return None


_DOWNLOADABLE_SQL = f"""
    SELECT l.state, i.withdrawn_at, a.storage_key, a.sha256, a.mime_type, a.contributor_id, c.opted_out,
           i.withdrawal_reason, (c.opted_out OR a.training_reserved OR a.taken_down_at IS NOT NULL),
           m.link_key, m.previous_link_key, m.previous_link_key_until
    FROM {SliceItem._meta.db_table} i
    JOIN {Licence._meta.db_table} l ON l.id = i.licence_id
    JOIN {Asset._meta.db_table} a ON a.id = i.asset_id
    JOIN {Contributor._meta.db_table} c ON c.id = a.contributor_id
    LEFT JOIN {SliceManifest._meta.db_table} m ON m.slice_id = i.slice_id
    WHERE i.slice_id = %s AND i.licence_id = %s AND i.asset_id = %s
"""


def manifest_item_of(item, *, url_prefix):
    """One SliceItem (with its asset loaded) as its manifests list it."""
    asset = item.asset
    return _manifest_item((item.asset_id, asset.kind, asset.title, asset.mime_type, asset.bytes, asset.sha256,
                           asset.width, asset.height, asset.duration_seconds, asset.contributor_id,
                           item.withdrawn_at, item.withdrawal_reason), url_prefix)


def manifest_jsonl_from_database(slice_, *, url_prefix):
    """The JSONL manifest built by PostgreSQL: its lines, UTF-8 encoded.

    The same objects as licensing.manifests.jsonl_lines over manifest_items (a test holds
    the two to that), without building a ManifestItem and a dict per item: for a large slice
    that was most of the time. The lines come through COPY … TO STDOUT, which streams them
    as PostgreSQL produces them with no cursor round trips. In CSV format with a quote and a
    delimiter that JSON text never holds raw (it escapes every control character), COPY sends
    each line exactly as it is: nothing to unescape.
    """
    sql = f"""
        COPY (
            SELECT json_build_object(
                'asset_id', a.id, 'kind', a.kind, 'title', a.title, 'mime_type', a.mime_type, 'bytes', a.bytes,
                'sha256', a.sha256, 'width', a.width, 'height', a.height, 'duration_seconds', a.duration_seconds,
                'contributor_ref', 'contributor-' || a.contributor_id, 'download_url', %s || a.id,
                'withdrawn', i.withdrawn_at IS NOT NULL,
                'withdrawn_at', {_UTC_TIMESTAMP.format("i.withdrawn_at")},
                'withdrawal_reason', {_WITHDRAWAL_REASON}
            )::text
            FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id
            WHERE i.slice_id = %s
            ORDER BY i.position
        ) TO STDOUT (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')
    """
    with connection.cursor() as cursor, cursor.cursor.copy(sql, [url_prefix, slice_.pk]) as copy:
        for line in copy:  # COPY sends one row, newline included, per message
            yield bytes(line)


def manifest_csv_from_database(slice_, *, url_prefix):
    """The CSV manifest's rows (after its header) built by PostgreSQL, UTF-8 encoded: byte for byte what
    licensing.manifests.csv_lines writes for manifest_items (a test holds the two to that), the csv
    module's rules spelled in SQL: a cell holding a comma, a quote, CR or LF is quoted with its quotes
    doubled, an empty cell is empty, a float is written as Python writes it (12.5, 2.0; durations never
    reach the 1e15 where the two part ways), booleans are true/false, rows end with CRLF. COPY's CSV
    format with a quote character the text does not hold quotes every row (each holds its CR), and
    taking that quote off again gives the line. Returns None when the link prefix itself would need
    quoting (it never does: a URL of ours), for the caller to use the Python writer."""
    if any(character in url_prefix for character in ',"\r\n\x01'):
        return None
    return _csv_lines_from_database(slice_, url_prefix)


def _csv_lines_from_database(slice_, url_prefix):
    def cell(expression):
        return (f"CASE WHEN {expression} ~ '[\",\\r\\n]' THEN '\"' || replace({expression}, '\"', '\"\"') || '\"' "
                f"ELSE {expression} END")

    duration = ("CASE WHEN a.duration_seconds IS NULL THEN '' WHEN a.duration_seconds::text ~ '[.eEnN]' "
                "THEN a.duration_seconds::text ELSE a.duration_seconds::text || '.0' END")
    cells = ", ".join([
        "a.id", cell("a.kind"), cell("a.title"), cell("a.mime_type"), "a.bytes", cell("a.sha256"), "a.width",
        "a.height", duration, "'contributor-' || a.contributor_id", "%s || a.id",
        "CASE WHEN i.withdrawn_at IS NULL THEN 'false' ELSE 'true' END",
        f"COALESCE({_UTC_TIMESTAMP.format('i.withdrawn_at')}, '')", f"COALESCE({cell(_WITHDRAWAL_REASON)}, '')",
    ])
    sql = f"""
        COPY (
            SELECT concat_ws(',', {cells}) || E'\\r'
            FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id
            WHERE i.slice_id = %s
            ORDER BY i.position
        ) TO STDOUT (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')
    """
    with connection.cursor() as cursor, cursor.cursor.copy(sql, [url_prefix, slice_.pk]) as copy:
        for line in copy:  # \x01 text \r \x01 \n, the text's own \x01 doubled
            text = bytes(line[1:-2])
            yield (text.replace(b"\x01\x01", b"\x01") if b"\x01" in text else text) + b"\n"


# How the manifests spell a withdrawal's time and reason in SQL, as licensing.manifests.items does in Python.
_UTC_TIMESTAMP = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_WITHDRAWAL_REASON = "CASE WHEN i.withdrawn_at IS NOT NULL THEN COALESCE(NULLIF(i.withdrawal_reason, ''), 'opt_out') END"


def _capped_count(where, params, cap):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {Asset._meta.db_table} a WHERE {where} "
                       f"LIMIT {int(cap) + 1}) counted", params)
        return cursor.fetchone()[0]


def slice_preview(*, licence, filters, seed, size):
    """What a slice request would give, before it is made: how many works match the filters, how
    many of those this licence may still take, and the first works the slice would hold. The
    same statement as the build (`picked_sql`), read-only and cut at PREVIEW_SAMPLE, so the
    same seed shows the works the request will grant while the catalogue stays as it is."""
    probe = Slice(licence=licence, seed=seed, size_requested=min(size, PREVIEW_SAMPLE), filters=filters)
    bytes_cap = licence.caps["bytes"]
    budget = None if bytes_cap is None else max(bytes_cap - licence.used_bytes, 0)
    sql, params = picked_sql(probe, budget)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    works = Asset.objects.select_related("preview", "contributor").in_bulk(ids)
    matching = _capped_count(*candidates_sql(probe, filters_only=True), PREVIEW_COUNT_UP_TO)
    available = _capped_count(*candidates_sql(probe), PREVIEW_COUNT_UP_TO)
    remaining = licence.remaining["assets"]
    grantable = min(x for x in (size, available, remaining) if x is not None)
    return {
        "matching": matching, "available": available, "capped": PREVIEW_COUNT_UP_TO,
        "more_than_cap": available > PREVIEW_COUNT_UP_TO, "grantable": grantable, "size": size,
        "sample": [works[i] for i in ids if i in works], "seed": seed,
    }


def slice_works(slice_, *, after_position=0, size=WORKS_PAGE):
    """A page of the slice's works in position order, withdrawn ones included (and marked)."""
    items = list(SliceItem.objects.filter(slice=slice_, position__gt=after_position)
                 .select_related("asset__preview", "asset__contributor").order_by("position")[:size + 1])
    return {"items": items[:size], "next_position": items[size - 1].position if len(items) > size else None,
            "withdrawn": SliceItem.objects.filter(slice=slice_, withdrawn_at__isnull=False).count()}


# --- Which works a slice takes: one read-only statement for the build and its preview ---------
#
# Every work has a fixed random rank (Asset.rank, drawn from [0, 2**63) as it enters the catalogue).
# A slice of seed s is the first works, in rank order, from the point rank_start(s), wrapping
# around from 0 past the top, that pass its filters and exclusions, up to its size and its bytes.
# Its positions are that order. The same seed over the same catalogue gives the same slice, and
# a slice of 20 begins with the slice of 12 of the same seed (the preview shows it).
#
# Two statements find those works, and give the same ones in the same order:
# - RANGE walks asset_rank_idx from the seed's point: about size × (listed / matching) index
#   entries, whatever the catalogue's size, for filters most works pass;
# - SORT reads every work that passes the filters (through their own indexes) and keeps the first
#   by the same order: the right one when few works match, where the walk would be long.
# selection_path() chooses between them from the planner's estimates.

RANGE, SORT = "range", "sort"

# What reading one work that matches costs the sort (a heap page visited for it, the filters, a
# place in the top-N sort), in index entries the walk steps over (the filters checked in the index
# entry itself). Measured on a catalogue of 1,000,000 works (bench/scale.py notes both paths for a
# few filters): the two cost the same where the walk reads 10 to 30 entries per matching work,
# 10 for tags (checked on the entry, but not by the index), 30 for kinds, sizes and durations.
# Either path gives the same works, so a choice near the crossing costs a little time, no more.
SORT_ROW_IN_RANGE_ENTRIES = 10


def rank_start(seed):
    """The point of the rank range [0, 2**63) where the slice of `seed` begins: the same seed, the same
    point; neighbouring seeds, points far apart."""
    digest = hashlib.blake2b(int(seed).to_bytes(8, "big", signed=True), digest_size=8,
                             person=b"slice-start").digest()
    return int.from_bytes(digest, "big") % RANK_SPACE


def candidates_sql(slice_, *, filters_only=False):
    """The WHERE of the assets a slice may take (filters, opt-outs, not yet granted to the licence),
    over `a`, the asset table, with its parameters. The build and the slice preview share it;
    `filters_only` leaves out opt-outs and earlier grants, to say how many works match at all."""
    contributor, item = Contributor._meta.db_table, SliceItem._meta.db_table
    where = [] if filters_only else [
        # The few who opted out, hashed once from their partial index: a probe per candidate of even
        # that small index cost the walk more than reading the candidates.
        f"a.contributor_id NOT IN (SELECT c.id FROM {contributor} c WHERE c.opted_out = %(true)s)",
        f"NOT EXISTS (SELECT 1 FROM {item} g WHERE g.licence_id = %(licence)s AND g.asset_id = a.id)",
        *GRANTABLE,
    ]
    params = {"slice": slice_.pk, "licence": slice_.licence_id, "seed": slice_.seed, "size": slice_.size_requested,
              "true": True, "false": False, "no_reason": ""}
    held_elsewhere = exclusive_exclusion_sql(licence_id=slice_.licence_id)
    if held_elsewhere:
        where.append(held_elsewhere)
    filters, filter_params = _work_filters(slice_)
    params.update(filter_params)
    return " AND ".join(where + filters) or "TRUE", params


# Taken down, or reserved by the file's own training-and-mining assertion: never granted, and not in
# asset_rank_idx (its condition is these two, which lets the planner use it).
GRANTABLE = ("a.taken_down_at IS NULL", "a.training_reserved = %(false)s")


def _work_filters(slice_):
    """The slice's filters on the asset row itself: (clauses over `a`, parameters)."""
    where, params = [], {}
    f = slice_.filters
    collections = f.get("collections") or _licence_collections(slice_)
    if collections is not None:
        where.append(f"a.collection_id IN ({', '.join(str(int(pk)) for pk in collections) or 'NULL'})")
    for key, clause in (("kind", "a.kind = %(kind)s"), ("min_width", "a.width >= %(min_width)s"),
                        ("min_height", "a.height >= %(min_height)s"),
                        ("min_duration", "a.duration_seconds >= %(min_duration)s"),
                        ("max_duration", "a.duration_seconds <= %(max_duration)s")):
        if f.get(key) is not None:
            where.append(clause)
            params[key] = f[key]
    if f.get("tags"):
        if connection.vendor == "postgresql":
            where.append("a.tags ?| %(tags)s")
            params["tags"] = list(f["tags"])
        else:
            names = []
            for n, tag in enumerate(f["tags"]):
                params[f"tag{n}"] = tag
                names.append(f"%(tag{n})s")
            where.append(f"EXISTS (SELECT 1 FROM json_each(a.tags) t WHERE t.value IN ({', '.join(names)}))")
    return where, params


def selection_path(slice_):
    """RANGE or SORT: which statement picks this slice's works, from the planner's estimates.

    The walk reads about size × listed / eligible entries of asset_rank_idx before it has `size`
    works (ranks are random, so the eligible works are spread evenly along it); the sort reads the
    eligible works themselves. `listed` is the planner's estimate of the works in the index,
    `eligible` its estimate of those that pass the slice's filters, less what the licence was
    granted before (a second slice of the same filters skips those). The walk is chosen when it
    reads no more than SORT_ROW_IN_RANGE_ENTRIES entries per work the sort would read. Opted-out
    contributors (about 1 %) and exclusive deals of other licences are not counted: they only
    lengthen the walk a little, and either path gives the same works.

    Both estimates come from EXPLAIN, which plans and does not run (well under a millisecond);
    SQLite and whole-collection grants (no size) always sort."""
    if connection.vendor != "postgresql" or is_whole_collection_grant(slice_):
        return SORT
    filters, params = _work_filters(slice_)
    params["false"] = False
    listed = _estimated_rows(GRANTABLE, params)
    matching = _estimated_rows([*GRANTABLE, *filters], params) if filters else listed
    granted_before = max(slice_.licence.used_assets - slice_.reserved_assets, 0)
    eligible = max(matching - granted_before, 1)
    walked = min(slice_.size_requested * listed / eligible, listed)
    return RANGE if walked <= SORT_ROW_IN_RANGE_ENTRIES * eligible else SORT


def _estimated_rows(where, params):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {Asset._meta.db_table} a WHERE {' AND '.join(where)}",
                       params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]["Plan Rows"]


def picked_sql(slice_, budget, *, path=None):
    """The assets the slice takes, in its order: rows (id, rn, running bytes, contributor), cut at the size and at
    the remaining bytes (`budget`, None for no cap). Only reads. `path` (RANGE or SORT) is chosen by
    selection_path() unless given; both give the same rows."""
    where, params = candidates_sql(slice_)
    params["start"] = rank_start(slice_.seed)
    path = path or selection_path(slice_)
    whole = is_whole_collection_grant(slice_)
    if path == RANGE:
        source = _walked_sql(where)
    else:
        source = _sorted_sql(where, limited=not whole)
    cuts = [] if whole else ["ranked.rn <= %(size)s"]
    if budget is not None:
        cuts.append("ranked.running <= %(budget)s")
        params["budget"] = budget
    return f"""
        SELECT ranked.id, ranked.rn, ranked.running, ranked.contributor_id
        FROM (
            SELECT p.id, p.contributor_id,
                   row_number() OVER (ORDER BY p.lap, p.rank, p.id) AS rn,
                   sum(p.bytes) OVER (ORDER BY p.lap, p.rank, p.id ROWS UNBOUNDED PRECEDING) AS running
            FROM ({source}) p
        ) ranked
        {"WHERE " + " AND ".join(cuts) if cuts else ""}
    """, params


def _walked_sql(where):
    """RANGE: the first `size` candidates from the seed's point to the top of the range (lap 0) and,
    only when those are too few, the first from 0 (lap 1); each an index-only walk of asset_rank_idx
    that stops when it has enough. The second walk's one-time filter skips it when the first filled
    the slice."""
    asset = Asset._meta.db_table
    return f"""
        WITH upper_lap AS MATERIALIZED (
            SELECT a.id, a.bytes, a.contributor_id, a.rank, 0 AS lap FROM {asset} a
            WHERE a.rank >= %(start)s AND {where}
            ORDER BY a.rank, a.id LIMIT %(size)s
        ), lower_lap AS MATERIALIZED (
            SELECT a.id, a.bytes, a.contributor_id, a.rank, 1 AS lap FROM {asset} a
            WHERE a.rank < %(start)s AND {where} AND (SELECT COUNT(*) FROM upper_lap) < %(size)s
            ORDER BY a.rank, a.id LIMIT %(size)s
        )
        SELECT * FROM upper_lap UNION ALL SELECT * FROM lower_lap
    """


def _sorted_sql(where, *, limited):
    """SORT: every candidate, ordered by lap and rank, the first `size` kept (all, for a whole-collection
    grant)."""
    return f"""
        SELECT a.id, a.bytes, a.contributor_id, a.rank, CASE WHEN a.rank >= %(start)s THEN 0 ELSE 1 END AS lap
        FROM {Asset._meta.db_table} a
        WHERE {where}
        ORDER BY lap, a.rank, a.id
        {"LIMIT %(size)s" if limited else ""}
    """


def is_whole_collection_grant(slice_):
    return bool(slice_.filters.get("whole_collections"))


def _licence_collections(slice_):
    """A commercial licence whose offer covers listed collections takes its works from those only."""
    if slice_.phase != LicencePhase.COMMERCIAL:
        return None
    licence = slice_.licence
    if licence.offer_coverage != OfferCoverage.COLLECTIONS:
        return None
    return sorted(licence.offer_collections.values_list("pk", flat=True))
