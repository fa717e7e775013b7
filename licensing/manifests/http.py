"""Manifests over HTTP: one response for the web pages, the signed links and the API alike.

The JSONL and CSV manifests of a ready slice are files the delivery job wrote (services/delivery,
slice_manifests_write), served like every download: sendfile, Range, ETag. Until the job has
written them, and after a withdrawal until it has written them again, they are streamed from the
database as before, so a manifest is never out of date. Croissant and the dataset card are always
built per request: they are small beside the item lists, and carry freshly signed links."""
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse

from licensing import downloads
from licensing.manifests import (
    MEDIA_TYPES,
    SliceManifestMeta,
    batched,
    croissant_chunks,
    csv_lines,
    jsonl_lines,
)
from licensing.manifests.dataset_card import slice_card, version_card
from licensing.models import SliceStatus
from licensing.selectors.ai_models import model_page_path, version_training
from licensing.selectors.delivery import current_manifest_file, shard_index
from licensing.selectors.slices import manifest_items, manifest_jsonl_from_database
from licensing.terms import terms_document_url
from licensing.views.delivery import stored_file_response

FORMATS = {
    "manifest.jsonl": (MEDIA_TYPES["manifest.jsonl"], jsonl_lines),
    "manifest.csv": (MEDIA_TYPES["manifest.csv"], csv_lines),
}


def _manifest_meta(slice_, token):
    licence = slice_.licence
    index = shard_index(slice_, token=token)
    media_types = tuple(sorted(set(slice_.items.values_list("asset__mime_type", flat=True).distinct().order_by()))) \
        if index["shards"] else ()
    return SliceManifestMeta(
        shards=index["shards"], shard_index_url=index["index_url"], media_types=media_types,
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


def stream_manifest(slice_, fmt, token=None, request=None):
    """The manifest `fmt` of the slice: the prebuilt file when there is a current one (and a request to answer
    Range and conditional headers of), else streamed. Callers have checked who may see it."""
    if slice_.status != SliceStatus.READY:
        return HttpResponse(f"Slice {slice_.number} is {slice_.status}: its manifest exists once it is ready.",
                            status=409, content_type="text/plain")
    token = token or downloads.slice_token(slice_)
    filename = f"licence-{slice_.licence_id}-slice-{slice_.number}-{fmt}"
    if fmt in FORMATS and request is not None and (stored := current_manifest_file(slice_, fmt)) is not None:
        return _prebuilt_response(request, fmt, stored, token, filename)
    url_prefix = downloads.asset_url_prefix(token)
    items = manifest_items(slice_, url_prefix=url_prefix)
    if fmt == "README.md":
        card = slice_card(slice_, licensor_name=settings.LICENSOR_NAME, site_url=settings.SITE_URL,
                          terms_url=terms_document_url(slice_.licence),
                          croissant_url=downloads.signed_manifest_url(token, "croissant.json"))
        response = HttpResponse(card.text(), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response
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
    # The manifests' companion: the slice as WebDataset tar shards, under the same signature.
    response["Link"] = f'<{downloads.shard_index_url(token)}>; rel="shards"; type="application/json"'
    return response


def _prebuilt_response(request, fmt, stored, token, filename):
    storage_key, size, sha256 = stored

    def headers(response):
        # As the streamed manifest says them, so nothing a pipeline reads changes but the speed.
        response["Cache-Control"] = "private, no-store"
        response["Link"] = f'<{downloads.shard_index_url(token)}>; rel="shards"; type="application/json"'

    return stored_file_response(request, storage_key=storage_key, sha256=sha256, size=size,
                                content_type=FORMATS[fmt][0], filename=filename, disposition="inline",
                                set_headers=headers)


MANIFEST_FORMATS = ("manifest.jsonl", "manifest.csv", "croissant.json", "README.md")


def version_card_response(version):
    """The dataset card of the licensed works that trained a model version, as README.md."""
    training = version_training(version=version)
    model = version.model
    card = version_card(
        version, training, licensor_name=settings.LICENSOR_NAME,
        terms_urls={row["licence"].pk: terms_document_url(row["licence"]) for row in training["licences"]},
        page_url=settings.SITE_URL + model_page_path(model) if model.is_public else None,
    )
    response = HttpResponse(card.text(), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{model.slug}-{version.label}-README.md"'
    return response
