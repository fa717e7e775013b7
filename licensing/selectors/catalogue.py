"""Reads about the catalogue's feeds."""
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from licensing.models import Asset, IngestRun, SliceItem


def ingest_runs():
    return IngestRun.objects.select_related("started_by")


def rejection_rows(*, run):
    """Every row the run refused, for the spreadsheet staff fix the feed in."""
    yield ["line", "external_id", "reason"]
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
