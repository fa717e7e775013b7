"""Slice pages, manifests and signed downloads."""
import random

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from licensing import downloads, workflow
from licensing.forms.slices import SliceRequestForm
from licensing.manifests.http import MANIFEST_FORMATS, stream_manifest
from licensing.models import Slice, SliceItem, SliceStatus
from licensing.selectors.licences import licence_visible_to
from licensing.selectors.previews import tile
from licensing.selectors.slices import (
    slice_preview,
    slice_visible_to,
    slice_works,
)
from licensing.services.slices import SliceRefused, clean_filters, slice_request
from licensing.views.licences import detail


def _licence_page_with(request, licence, form):
    """The licence page again with the request as typed and its errors, so nothing has to be typed twice."""
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
@require_http_methods(["GET"])
def preview_slice(request, pk):
    """The slice request form's live preview (htmx): what the request as typed would grant."""
    licence = licence_visible_to(user=request.user, pk=pk)
    if "applicant" not in workflow.actor_kinds(request.user, licence) or licence.state not in workflow.ACTIVE:
        raise Http404
    data = request.GET.copy()
    if not data.get("slice-size"):
        data["slice-size"] = "12"
    form = SliceRequestForm(data, prefix="slice")
    context = {"licence": licence, "form": form}
    if not form.is_valid():
        context["problem"] = "; ".join(f"{form.fields[f].label if f in form.fields else f}: {' '.join(e)}"
                                       for f, e in form.errors.items())
        return render(request, "slices/_preview.html", context)
    kwargs = form.service_kwargs()
    size, seed = kwargs.pop("size"), kwargs.pop("seed", None)
    try:
        filters = clean_filters(**kwargs)
    except SliceRefused as refusal:
        context["problem"] = str(refusal)
        return render(request, "slices/_preview.html", context)
    # Without a seed the preview picks one and puts it in the form: the request then grants what was shown.
    context["seed_chosen"] = seed is None
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    preview = slice_preview(licence=licence, filters=filters, seed=seed, size=size)
    context.update(preview=preview, tiles=[tile(work) for work in preview["sample"]])
    return render(request, "slices/_preview.html", context)


@login_required
def slice_detail(request, pk):
    slice_ = slice_visible_to(user=request.user, pk=pk)
    if request.headers.get("HX-Request"):
        return render(request, "slices/_status.html", {"slice": slice_, "licence": slice_.licence})
    try:
        after = max(int(request.GET.get("after", 0)), 0)
    except ValueError:
        after = 0
    works = slice_works(slice_, after_position=after) if slice_.status == SliceStatus.READY else None
    return render(request, "slices/detail.html", {
        "slice": slice_, "licence": slice_.licence, "works": works,
        "tiles": [dict(tile(item.asset), withdrawn=item.withdrawn_at) for item in works["items"]] if works else [],
    })


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
