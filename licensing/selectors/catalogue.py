"""Reads about the catalogue's feeds.

The catalogue as licensees and staff browse it: filters, facet counts, keyset pages, one work.

At a million works, three things keep a page fast:
- pages are keyset pages on the primary key (`id < last seen`), never OFFSET;
- counts are exact only while small: each count first asks the planner for its estimate
  (EXPLAIN, no rows read, well under a millisecond); an estimate of COUNT_EXACT_UP_TO or
  more is shown as "about N", rounded to two significant figures; a smaller one is counted,
  and the count stops at that cap ("2,000+") when the planner underestimated. Counting costs
  what the indexes must read, not what is found, so even a few thousand exact counts per page
  would cost seconds at this scale; estimates keep every facet at a planner's price;
- a facet whose other filters leave few works (ONE_PASS_UP_TO) counts all its options
  exactly in one pass over them, with COUNT(*) FILTER per option;
- facet counts of a combination of filters are cached for two minutes;
- the tags offered as facets are the catalogue's most common, computed from a sample of
  the table and cached, not recounted per request.
Searches use a trigram index on titles and a GIN index on tags (migration 0013).
"""
import hashlib
import json
import math

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.http import Http404
from django.utils.translation import gettext, gettext_lazy

from accounts.roles import is_staff_member
from licensing import workflow
from licensing.models import Asset, IngestRun, Licence, SliceItem
from licensing.spreadsheets import header


def ingest_runs():
    return IngestRun.objects.select_related("started_by")


def rejection_rows(*, run):
    """Every row the run refused, for the spreadsheet staff fix the feed in."""
    yield header("line", "external_id", "reason")
    for line, external_id, reason in run.rejections.order_by("line", "id").values_list(
            "line", "external_id", "reason").iterator(chunk_size=5000):
        yield [line, external_id, reason]


def ingest_run_detail(*, pk):
    try:
        return ingest_runs().get(pk=pk)
    except (IngestRun.DoesNotExist, ValueError):
        raise Http404("No such ingest run.") from None


def catalogue_works(*, query="", reserved=None):
    works = Asset.objects.select_related("contributor", "collection")
    if query:
        works = works.filter(Q(title__icontains=query) | Q(external_id=query))
    if reserved:
        works = works.filter(Q(training_reserved=True) | Q(taken_down_at__isnull=False)
                             | ~Q(training_signal="") | ~Q(verification_problems=""))
    return works.order_by("-id")


def work_detail(*, pk):
    try:
        return Asset.objects.select_related("contributor", "collection", "training_signal_cleared_by").annotate(
            granted=Exists(SliceItem.objects.filter(asset_id=OuterRef("pk")))).get(pk=pk)
    except (Asset.DoesNotExist, ValueError):
        raise Http404("No such work.") from None


PAGE_SIZE = 48
COUNT_EXACT_UP_TO = 2_000
ONE_PASS_UP_TO = 10_000
FACETS_CACHE_SECONDS = 120
TOP_TAGS = 16
TOP_TAGS_CACHE_SECONDS = 600

RESOLUTIONS = {
    "vga": (gettext_lazy("At least 640×480"), 640, 480),
    "hd": (gettext_lazy("At least 1280×720 (HD)"), 1280, 720),
    "fhd": (gettext_lazy("At least 1920×1080 (Full HD)"), 1920, 1080),
    "uhd": (gettext_lazy("At least 3840×2160 (4K)"), 3840, 2160),
}
DURATIONS = {
    "short": (gettext_lazy("Under 10 seconds"), None, 10),
    "medium": (gettext_lazy("10 seconds to 1 minute"), 10, 60),
    "long": (gettext_lazy("Over 1 minute"), 60, None),
}
KINDS = {"image": gettext_lazy("Images"), "video": gettext_lazy("Videos")}


# --- Who may browse ---------------------------------------------------------------

def catalogue_viewer(*, user):
    """{"staff": bool, "licences": the viewer's active licences}; anyone else is refused with a reason."""
    if is_staff_member(user):
        return {"staff": True, "licences": []}
    membership = getattr(user, "membership", None)
    licences = [] if membership is None else list(
        Licence.objects.filter(organisation_id=membership.organisation_id, state__in=workflow.ACTIVE)
        .order_by("-created_at"))
    if not licences:
        raise PermissionDenied(gettext("The catalogue opens to your organisation once a research licence is approved."))
    return {"staff": False, "licences": licences}


# --- Filters ------------------------------------------------------------------------

def _tag_any(tags):
    if connection.vendor == "postgresql":
        return Q(tags__has_any_keys=list(tags))
    q = Q()
    for tag in tags:
        q |= Q(tags__icontains=json.dumps(tag))
    return q


def _word(word):
    tag = Q(tags__contains=[word]) if connection.vendor == "postgresql" else Q(tags__icontains=json.dumps(word))
    return Q(title__icontains=word) | tag


def filter_q(filters, *, without=None):
    """The filters as one condition; `without` leaves one facet out, so that facet's counts say what
    choosing each of its values would give."""
    q = Q()
    for word in (filters.get("q") or "").lower().split()[:5]:
        q &= _word(word)
    if filters.get("kind") and without != "kind":
        q &= Q(kind=filters["kind"])
    if filters.get("resolution") in RESOLUTIONS and without != "resolution":
        _, width, height = RESOLUTIONS[filters["resolution"]]
        q &= Q(width__gte=width, height__gte=height)
    if filters.get("duration") in DURATIONS and without != "duration":
        _, low, high = DURATIONS[filters["duration"]]
        q &= Q(kind="video")
        if low is not None:
            q &= Q(duration_seconds__gte=low)
        if high is not None:
            q &= Q(duration_seconds__lt=high)
    if filters.get("tags") and without != "tags":
        q &= _tag_any(filters["tags"])
    return q


# --- Counts -------------------------------------------------------------------------

def _estimate(queryset):
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def count_of(queryset):
    """{"value": n, "exact": bool, "label": "1,234" | "about 430,000" | "10,000+"}."""
    if connection.vendor == "postgresql":
        estimate = _estimate(queryset)
        if estimate >= COUNT_EXACT_UP_TO:
            rounded = int(round(estimate, -max(0, int(math.log10(estimate)) - 1)))
            return {"value": rounded, "exact": False, "label": f"about {rounded:,}"}
    found = queryset.order_by().values("pk")[:COUNT_EXACT_UP_TO + 1].count()
    if found > COUNT_EXACT_UP_TO:
        return {"value": COUNT_EXACT_UP_TO, "exact": False, "label": f"{COUNT_EXACT_UP_TO:,}+"}
    return {"value": found, "exact": True, "label": f"{found:,}"}


def top_tags():
    """The catalogue's most common tags. On a large table, from a 1% sample: the facet offers
    the tags worth clicking, and their counts are then computed for the filters in force."""
    tags = cache.get("catalogue:top-tags")
    if tags is not None:
        return tags
    table = Asset._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            rows = (cursor.fetchone() or [0])[0]
            sample = "TABLESAMPLE SYSTEM (1)" if rows > 200_000 else ""
            cursor.execute(f"SELECT t, COUNT(*) FROM {table} {sample}, jsonb_array_elements_text(tags) t "
                           f"GROUP BY t ORDER BY COUNT(*) DESC, t LIMIT %s", [TOP_TAGS])
        else:
            cursor.execute(f"SELECT t.value, COUNT(*) FROM {table}, json_each({table}.tags) t "
                           f"GROUP BY t.value ORDER BY COUNT(*) DESC, t.value LIMIT %s", [TOP_TAGS])
        tags = sorted(row[0] for row in cursor.fetchall())
    cache.set("catalogue:top-tags", tags, TOP_TAGS_CACHE_SECONDS)
    return tags


def _option_counts(filters, facet, options):
    """The counts of one facet's options, each with the other facets' filters. While the works those
    filters leave are few (ONE_PASS_UP_TO by the planner's estimate), one pass over them counts every
    option exactly; past that, each option is counted by `count_of` (an estimate when large)."""
    base = Asset.objects.filter(filter_q(filters, without=facet))
    if connection.vendor != "postgresql" or _estimate(base) < ONE_PASS_UP_TO:
        found = base.aggregate(**{f"o{n}": Count("pk", filter=q) for n, (_, _, q) in enumerate(options)}) \
            if options else {}
        return [{"value": found[f"o{n}"], "exact": True, "label": f"{found[f'o{n}']:,}"} for n in range(len(options))]
    return [count_of(base.filter(q)) for _, _, q in options]


def facets_cache_key(filters):
    return "catalogue:facets:" + hashlib.sha1(json.dumps(filters, sort_keys=True).encode()).hexdigest()


def facets(filters):
    """Every facet with its options, each with the count it would give and whether it is chosen.
    The counts of a combination of filters are kept for FACETS_CACHE_SECONDS: licensees click
    the same few combinations, and a count a minute old is as good as a fresh one (the works
    shown, and their total, are always read fresh)."""
    key = facets_cache_key(filters)
    groups = cache.get(key)
    if groups is None:
        groups = _facets(filters)
        cache.set(key, groups, FACETS_CACHE_SECONDS)
    return groups


def _facets(filters):
    definitions = [
        ("kind", gettext_lazy("Kind"), False, [(value, label, Q(kind=value)) for value, label in KINDS.items()]),
        ("resolution", gettext_lazy("Resolution"), False, [(value, label, Q(width__gte=w, height__gte=h))
                                              for value, (label, w, h) in RESOLUTIONS.items()]),
    ]
    if filters.get("kind") != "image":
        definitions.append(("duration", gettext_lazy("Video duration"), False, [
            (value, label, filter_q({"duration": value})) for value, (label, _, _) in DURATIONS.items()]))
    tags = sorted(set(top_tags()) | set(filters.get("tags") or []))
    definitions.append(("tags", gettext_lazy("Tags"), True, [(tag, tag, _tag_any([tag])) for tag in tags]))
    groups = []
    for name, label, multiple, options in definitions:
        counts = _option_counts(filters, name, options)
        # An option that would give nothing is left out, unless it is the one chosen.
        shown = [{"value": value, "label": text, "chosen": _chosen(filters, name, value), "count": count}
                 for (value, text, _), count in zip(options, counts)]
        shown = [option for option in shown if option["chosen"] or option["count"]["value"]]
        if shown:
            groups.append({"name": name, "label": label, "multiple": multiple, "options": shown})
    return groups


def _chosen(filters, facet, value):
    chosen = filters.get(facet)
    return value in chosen if isinstance(chosen, list) else chosen == value


# --- Pages ----------------------------------------------------------------------------

def catalogue_page(filters, *, after=None, before=None, size=PAGE_SIZE):
    """One keyset page, newest first: {"works", "next_after", "prev_before", "total"}."""
    works = Asset.objects.filter(filter_q(filters)).select_related("preview", "contributor")
    if before is not None:
        rows = list(works.filter(pk__gt=before).order_by("pk")[:size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_older = True
    else:
        if after is not None:
            works = works.filter(pk__lt=after)
        rows = list(works.order_by("-pk")[:size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = after is not None
    return {
        "works": rows,
        "next_after": rows[-1].pk if rows and has_older else None,
        "prev_before": rows[0].pk if rows and has_newer else None,
        "total": count_of(Asset.objects.filter(filter_q(filters))),
    }


def grants_of(*, licences, asset_ids):
    """{asset_id: [the viewer's grants of it]} for the works on a page."""
    found = {}
    items = SliceItem.objects.filter(licence_id__in=[lic.pk for lic in licences], asset_id__in=list(asset_ids)) \
        .select_related("slice").order_by("slice__licence_id", "slice__number")
    for item in items:
        found.setdefault(item.asset_id, []).append(item)
    return found


def work_visible_to(*, viewer, pk):
    work = Asset.objects.select_related("preview", "contributor").filter(pk=pk).first()
    if work is None:
        raise Http404("No such work in the catalogue.")
    return work


def availability(*, viewer, work):
    """For each of the viewer's active licences: is this work in it, could it be, or why not."""
    grants = grants_of(licences=viewer["licences"], asset_ids=[work.pk]).get(work.pk, [])
    rows = []
    for licence in viewer["licences"]:
        mine = [item for item in grants if item.licence_id == licence.pk]
        if mine:
            withdrawn = [item for item in mine if item.withdrawn_at]
            rows.append({"licence": licence, "status": "withdrawn" if withdrawn and len(withdrawn) == len(mine)
                         else "granted", "items": mine})
        elif work.contributor.opted_out:
            rows.append({"licence": licence, "status": "opted_out", "items": []})
        else:
            rows.append({"licence": licence, "status": "available", "items": []})
    return rows


def catalogue_numbers():
    """The home page's figures: works by kind, hours of video, contributors. Cached: they move slowly."""
    numbers = cache.get("catalogue:numbers")
    if numbers is None:
        from_kind = {row["kind"]: row for row in _kind_totals()}
        numbers = {
            "images": from_kind.get("image", {}).get("n", 0),
            "videos": from_kind.get("video", {}).get("n", 0),
            "video_hours": round((from_kind.get("video", {}).get("seconds") or 0) / 3600, 1),
        }
        cache.set("catalogue:numbers", numbers, 300)
    return numbers


def _kind_totals():
    return Asset.objects.values("kind").annotate(n=Count("id"), seconds=Sum("duration_seconds")).order_by()


def sample_works(*, count=8):
    """Works for the home page: ones with a ready preview, from contributors who have not opted out."""
    return list(Asset.objects.filter(preview__status="ready", contributor__opted_out=False)
                .select_related("preview").order_by("-pk")[:count])
