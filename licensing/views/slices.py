"""Slice pages, manifests and signed downloads."""
import random

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from licensing import downloads, formats, rights, workflow
from licensing.forms.slices import SliceRequestForm
from licensing.manifests.http import MANIFEST_FORMATS, stream_manifest
from licensing.manifests.shards import extension
from licensing.models import SliceStatus
from licensing.selectors.delivery import shard_index, withdrawal_reasons
from licensing.selectors.licences import licence_visible_to
from licensing.selectors.previews import tile
from licensing.selectors.slices import (
    downloadable_item,
    slice_preview,
    slice_visible_to,
    slice_works,
)
from licensing.services.slices import SliceRefused, clean_filters, slice_request
from licensing.views.delivery import (
    shard_index_response,
    slice_from_token,
    stored_file_response,
)
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
        messages.error(request, _("The slice request has errors: %(errors)s") % {"errors": "; ".join(
            f"{form.fields[f].label if f in form.fields else f}: {' '.join(e)}" for f, e in form.errors.items())})
        return _licence_page_with(request, licence, form)
    try:
        slice_ = slice_request(licence=licence, by=request.user, **form.service_kwargs())
    except SliceRefused as refusal:
        messages.error(request, str(refusal))
        form.add_error(None, str(refusal))
        return _licence_page_with(request, licence, form)
    slice_.refresh_from_db()  # built already where jobs run in-process
    if slice_.status == SliceStatus.READY:
        messages.success(request, _("Slice %(number)s is ready: %(asset_count)s assets.")
                                  % {"number": slice_.number, "asset_count": formats.count(slice_.asset_count)})
    elif slice_.status == SliceStatus.FAILED:
        messages.error(request, _("Slice %(number)s could not be built: %(failure_reason)s")
                                % {"number": slice_.number, "failure_reason": slice_.failure_reason})
    else:
        messages.success(request,
                         _("Slice %(number)s requested: it is being built, and this page follows its progress.")
                                  % {"number": slice_.number})
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
    context = {
        "slice": slice_, "licence": slice_.licence, "works": works, "shards": None,
        "tiles": [dict(tile(item.asset), withdrawn=item.withdrawn_at, withdrawal_reason=rights.withdrawal_reason_text(
            item.withdrawal_reason) if item.withdrawn_at else None) for item in works["items"]] if works else [],
        "withdrawal_reasons": withdrawal_reasons(slice_) if works and works["withdrawn"] else [],
    }
    if slice_.status == SliceStatus.READY:
        index = shard_index(slice_)
        if index["state"] == "ready":
            context.update(shards=index["shards"], shard_set=index, shard_note=index["note"])
    return render(request, "slices/detail.html", context)


@login_required
def manifest(request, pk, fmt):
    if fmt not in MANIFEST_FORMATS:
        raise Http404
    slice_ = slice_visible_to(user=request.user, pk=pk)
    return stream_manifest(slice_, fmt, request=request)


def signed_manifest(request, token, fmt):
    if fmt not in (*MANIFEST_FORMATS, "shards.json"):
        raise Http404
    slice_, refusal = slice_from_token(token)
    if refusal:
        return refusal
    if fmt == "shards.json":  # the manifests' companion: the same token lists the slice's shards
        return shard_index_response(slice_, token=token)
    return stream_manifest(slice_, fmt, token=token, request=request)


@require_http_methods(["GET", "HEAD"])
def download(request, token, asset_id):
    try:
        link = downloads.read_link(token)
    except (downloads.LinkExpired, downloads.LinkInvalid):
        link = None
    item = downloadable_item(licence_id=link.licence_id, slice_id=link.slice_id, asset_id=asset_id) if link else None
    if item is None or item.licence_state not in workflow.ACTIVE or (
            link.manifest_key is not None and not item.accepts_manifest_key(link.manifest_key, timezone.now())):
        # The refusals (expired, replaced or forged link, closed licence, no such item) say why, at their own pace.
        slice_, refusal = slice_from_token(token)
        if refusal:
            return refusal
        raise Http404
    if item.withdrawn_at is not None:
        return download_headers(HttpResponse(rights.withdrawn_message(item), status=410,
                                             content_type="text/plain; charset=utf-8"), item)
    if not item.storage_key:
        return download_headers(HttpResponse(
            f"Asset {asset_id} is a metadata-only catalogue row: there is no file to download.",
            status=404, content_type="text/plain"), item)
    return stored_file_response(request, storage_key=item.storage_key, sha256=item.sha256,
                                content_type=item.mime_type, filename=f"{asset_id}{extension(item.mime_type)}",
                                set_headers=lambda response: download_headers(response, item),
                                missing=f"The file of asset {asset_id} is missing from storage; the licensor has been told.")


def download_headers(response, item):
    """Every header a download answer carries about the work (a DownloadableItem), whatever the answer
    (200, 206, 304, 410…): the checksum and the rights signals, in one place."""
    response["X-Checksum-SHA256"] = item.sha256
    for name, value in rights.download_rights_headers(item).items():
        response[name] = value
    return response
