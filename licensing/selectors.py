"""Reads shared by pages and the API. The rule "an organisation sees only its own" lives here."""
from django.db.models import Q
from django.http import Http404

from accounts.roles import is_staff_member
from licensing.models import Licence


def licences_visible_to(*, user):
    queryset = Licence.objects.select_related("organisation", "applicant")
    if not user.is_authenticated:
        return queryset.none()
    if is_staff_member(user):
        return queryset
    membership = getattr(user, "membership", None)
    if membership is None:
        return queryset.none()
    return queryset.filter(organisation_id=membership.organisation_id)


def licence_visible_to(*, user, pk):
    """The licence, or 404 when it does not exist or belongs to another organisation."""
    try:
        return licences_visible_to(user=user).get(pk=pk)
    except (Licence.DoesNotExist, ValueError):
        raise Http404("No such licence.") from None


def review_queue(*, states, organisation=None, older_than_days=None, now=None):
    from datetime import timedelta

    from django.utils import timezone

    queryset = Licence.objects.select_related("organisation").filter(state__in=states)
    if organisation:
        queryset = queryset.filter(Q(organisation__slug=organisation) | Q(organisation__name__icontains=organisation))
    if older_than_days:
        queryset = queryset.filter(updated_at__lte=(now or timezone.now()) - timedelta(days=older_than_days))
    return queryset.order_by("updated_at", "id")


def slices_visible_to(*, user):
    from licensing.models import Slice

    return Slice.objects.select_related("licence__organisation").filter(
        licence__in=licences_visible_to(user=user).values("pk")
    )


def slice_visible_to(*, user, pk):
    try:
        return slices_visible_to(user=user).get(pk=pk)
    except Exception as error:
        from licensing.models import Slice

        if isinstance(error, (Slice.DoesNotExist, ValueError)):
            raise Http404("No such slice.") from None
        raise


def manifest_items(slice_, *, url_prefix):
    """The slice's items for a manifest, streamed from the database in position order."""
    from licensing.manifests import ManifestItem
    from licensing.models import SliceItem

    rows = (
        SliceItem.objects.filter(slice=slice_)
        .order_by("position")
        .values_list("asset_id", "asset__kind", "asset__title", "asset__mime_type", "asset__bytes", "asset__sha256",
                     "asset__width", "asset__height", "asset__duration_seconds", "asset__contributor_id",
                     "withdrawn_at")
        .iterator(chunk_size=5000)
    )
    for asset_id, kind, title, mime, size, sha, width, height, duration, contributor_id, withdrawn_at in rows:
        yield ManifestItem(
            asset_id=asset_id, kind=kind, title=title, mime_type=mime, bytes=size, sha256=sha, width=width,
            height=height, duration_seconds=duration, contributor_ref=f"contributor-{contributor_id}",
            download_url=f"{url_prefix}{asset_id}", withdrawn_at=withdrawn_at,
        )


def invoices_visible_to(*, user):
    """Finance and licensor admins see every invoice; a licensee sees its organisation's issued ones."""
    from accounts.roles import FINANCE, LICENSOR_ADMIN, has_role
    from licensing.models import Invoice

    queryset = Invoice.objects.select_related("organisation", "licence", "corrects")
    if not user.is_authenticated:
        return queryset.none()
    if has_role(user, FINANCE, LICENSOR_ADMIN):
        return queryset
    membership = getattr(user, "membership", None)
    if membership is None:
        return queryset.none()
    return queryset.filter(organisation_id=membership.organisation_id).exclude(number__isnull=True)


def manifest_jsonl_from_database(slice_, *, url_prefix):
    """The JSONL manifest built by PostgreSQL: its lines, UTF-8 encoded.

    The same objects as licensing.manifests.jsonl_lines over manifest_items (a test holds
    the two to that), without building a ManifestItem and a dict per item: for a large slice
    that was most of the time. The lines come through COPY … TO STDOUT, which streams them
    as PostgreSQL produces them with no cursor round trips. COPY's text format doubles each backslash;
    the JSON text holds no other character COPY escapes (JSON escapes control characters
    itself), so halving them again gives the JSON exactly.
    """
    from django.db import connection

    from licensing.models import Asset, SliceItem

    sql = f"""
        COPY (
            SELECT json_build_object(
                'asset_id', a.id, 'kind', a.kind, 'title', a.title, 'mime_type', a.mime_type, 'bytes', a.bytes,
                'sha256', a.sha256, 'width', a.width, 'height', a.height, 'duration_seconds', a.duration_seconds,
                'contributor_ref', 'contributor-' || a.contributor_id, 'download_url', %s || a.id,
                'withdrawn', i.withdrawn_at IS NOT NULL,
                'withdrawn_at', to_char(i.withdrawn_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
            )::text
            FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id
            WHERE i.slice_id = %s
            ORDER BY i.position
        ) TO STDOUT
    """
    with connection.cursor() as cursor, cursor.cursor.copy(sql, [url_prefix, slice_.pk]) as copy:
        for line in copy:  # COPY sends one row, newline included, per message
            yield bytes(line).replace(b"\\\\", b"\\")
