"""Slice pages, manifests and signed downloads."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from licensing import downloads, workflow
from licensing.forms import SliceRequestForm
from licensing.manifests import SliceManifestMeta, croissant_chunks, csv_lines, jsonl_lines
from licensing.models import Slice, SliceItem, SliceStatus
from licensing.selectors import licence_visible_to, manifest_items, manifest_jsonl_from_database, slice_visible_to
from licensing.services.slices import SliceRefused, slice_request

FORMATS = {
    "manifest.jsonl": ("application/x-ndjson", jsonl_lines),
    "manifest.csv": ("text/csv; charset=utf-8", csv_lines),
}


def batched(chunks, size=64 * 1024):
    """Join small chunks (text, or bytes as PostgreSQL sends them) into ~64 KiB UTF-8 writes: one write
    per manifest line would dominate the time."""
    buffer, length = [], 0
    for chunk in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        buffer.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


def slice_panel(request, licence):
    """The slices part of the licence page."""
    if licence.phase == "application":
        return None
    is_applicant = "applicant" in workflow.actor_kinds(request.user, licence)
    can_request = is_applicant and licence.state in workflow.ACTIVE
    bound = getattr(request, "bound_slice_form", None)
    return {
        "template": "slices/_panel.html",
        "slices": licence.slices.all()[:50],
        "slice_form": (bound or SliceRequestForm(prefix="slice")) if can_request else None,
    }


def _licence_page_with(request, licence, form):
    """The licence page again with the request as typed and its errors, so nothing has to be typed twice."""
    from licensing.views.licences import detail

    request.bound_slice_form = form
    return detail(request, licence.pk, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def request_slice(request, pk):
    licence = licence_visible_to(user=request.user, pk=pk)
    if request.method == "GET":  # a reload of the page a refused request answered with
        return redirect("licence_detail", pk=licence.pk)
    if "applicant" not in workflow.actor_kinds(request.user, licence):
        raise Http404
    form = SliceRequestForm(request.POST, prefix="slice")
    if not form.is_valid():
        messages.error(request, "The slice request has errors: " + "; ".join(
            f"{form.fields[f].label if f in form.fields else f}: {' '.join(e)}" for f, e in form.errors.items()))
        return _licence_page_with(request, licence, form)
    try:
        slice_ = slice_request(licence=licence, by=request.user, **form.service_kwargs())
    except SliceRefused as refusal:
        messages.error(request, str(refusal))
        form.add_error(None, str(refusal))
        return _licence_page_with(request, licence, form)
    slice_.refresh_from_db()  # built already where jobs run in-process
    if slice_.status == SliceStatus.READY:
        messages.success(request, f"Slice {slice_.number} is ready: {slice_.asset_count:,} assets.")
    elif slice_.status == SliceStatus.FAILED:
        messages.error(request, f"Slice {slice_.number} could not be built: {slice_.failure_reason}")
    else:
        messages.success(request, f"Slice {slice_.number} requested: it is being built, and this page follows its progress.")
    return redirect("slice_detail", pk=slice_.pk)


@login_required
def slice_detail(request, pk):
    slice_ = slice_visible_to(user=request.user, pk=pk)
    template = "slices/_status.html" if request.headers.get("HX-Request") else "slices/detail.html"
    return render(request, template, {"slice": slice_, "licence": slice_.licence})


def _manifest_meta(slice_, token):
    licence = slice_.licence
    return SliceManifestMeta(
        name=f"tessera-licence-{licence.pk}-slice-{slice_.number}",
        description=f"Slice {slice_.number} of the {licence.get_phase_display().lower()} licence "
                    f"“{licence.project_title}” granted to {licence.organisation.name}.",
        slice_url=settings.SITE_URL + reverse("slice_detail", args=[slice_.pk]),
        licence_url=settings.SITE_URL + reverse("licence_terms", args=[licence.pk]),
        licence_id=str(licence.pk),
        licensee_name=licence.organisation.name,
        licensor_name=settings.LICENSOR_NAME,
        selection=slice_.describe_selection(),
        created_at=slice_.finished_at or slice_.created_at,
        csv_url=downloads.signed_manifest_url(token, "manifest.csv"),
    )


def stream_manifest(slice_, fmt, token=None):
    if slice_.status != "ready":
        return HttpResponse(f"Slice {slice_.number} is {slice_.status}: its manifest exists once it is ready.",
                            status=409, content_type="text/plain")
    token = token or downloads.slice_token(slice_)
    url_prefix = downloads.asset_url_prefix(token)
    items = manifest_items(slice_, url_prefix=url_prefix)
    filename = f"licence-{slice_.licence_id}-slice-{slice_.number}-{fmt}"
    if fmt == "croissant.json":
        content_type, chunks = "application/ld+json", croissant_chunks(_manifest_meta(slice_, token), items)
    elif fmt == "manifest.jsonl" and connection.vendor == "postgresql":
        content_type, chunks = FORMATS[fmt][0], manifest_jsonl_from_database(slice_, url_prefix=url_prefix)
    else:
        content_type, writer = FORMATS[fmt]
        chunks = writer(items)
    response = StreamingHttpResponse(batched(chunks), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


MANIFEST_FORMATS = ("manifest.jsonl", "manifest.csv", "croissant.json")


@login_required
def manifest(request, pk, fmt):
    if fmt not in MANIFEST_FORMATS:
        raise Http404
    slice_ = slice_visible_to(user=request.user, pk=pk)
    return stream_manifest(slice_, fmt)


def _slice_from_token(token):
    try:
        licence_id, slice_id = downloads.read_slice_token(token)
    except downloads.LinkExpired:
        return None, HttpResponse(
            "This download link has expired. Fetch the slice's manifest again for fresh links.",
            status=403, content_type="text/plain")
    except downloads.LinkInvalid:
        raise Http404 from None
    slice_ = Slice.objects.select_related("licence__organisation").filter(pk=slice_id, licence_id=licence_id).first()
    if slice_ is None:
        raise Http404
    if slice_.licence.state not in workflow.ACTIVE:
        return None, HttpResponse(
            f"The licence is {slice_.licence.get_state_display().lower()}: its downloads are closed.",
            status=403, content_type="text/plain")
    return slice_, None


def signed_manifest(request, token, fmt):
    if fmt not in MANIFEST_FORMATS:
        raise Http404
    slice_, refusal = _slice_from_token(token)
    if refusal:
        return refusal
    return stream_manifest(slice_, fmt, token=token)


def download(request, token, asset_id):
    slice_, refusal = _slice_from_token(token)
    if refusal:
        return refusal
    item = SliceItem.objects.select_related("asset__contributor").filter(slice=slice_, asset_id=asset_id).first()
    if item is None:
        raise Http404
    if item.withdrawn_at is not None:
        return HttpResponse(
            "Withdrawn: the contributor opted out of AI training on "
            f"{item.withdrawn_at:%d %B %Y}. Delete this item from your copies of the slice.",
            status=410, content_type="text/plain")
    asset = item.asset
    if not asset.storage_key:
        return HttpResponse(
            f"Asset {asset.pk} is a metadata-only catalogue row: there is no file to download.",
            status=404, content_type="text/plain")
    if getattr(settings, "SLICE_DOWNLOADS_REDIRECT", False):
        response = HttpResponseRedirect(default_storage.url(asset.storage_key))
    else:
        try:
            handle = default_storage.open(asset.storage_key)
        except FileNotFoundError:
            return HttpResponse(f"The file of asset {asset.pk} is missing from storage; the licensor has been told.",
                                status=404, content_type="text/plain")
        response = FileResponse(handle, content_type=asset.mime_type, as_attachment=True,
                                filename=f"{asset.pk}{_extension(asset)}")
    response["X-Checksum-SHA256"] = asset.sha256
    if asset.contributor.opted_out:
        # W3C TDMRep: the rightsholder reserves text and data mining rights for this work.
        response["tdm-reservation"] = "1"
    return response


def _extension(asset):
    return {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}.get(asset.mime_type, "")
