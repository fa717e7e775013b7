"""Previews, served to anyone: small and watermarked, with a year-long cache (their URLs change when they do)."""
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from licensing.selectors.previews import preview_file

YEAR = 365 * 24 * 3600


@require_GET
def preview(request, asset_id, name):
    key, content_type = preview_file(asset_id=asset_id, name=name)
    try:
        handle = default_storage.open(key)
    except FileNotFoundError:
        raise Http404("This preview is missing.") from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    # A preview is for looking at, not for training: say so to crawlers (IETF AI preferences, W3C TDMRep).
    response["Content-Usage"] = "train-ai=n"
    response["tdm-reservation"] = "1"
    return response
