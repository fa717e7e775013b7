"""Which preview file a URL names, and what a page shows for a work that has none yet."""
from django.http import Http404
from django.templatetags.static import static
from django.urls import reverse

from licensing.models import AssetPreview, PreviewStatus

FILES = {
    "thumb.jpg": ("thumbnail_key", "image/jpeg"),
    "preview.jpg": ("preview_key", "image/jpeg"),
    "preview.webm": ("preview_key", "video/webm"),
    "poster.jpg": ("poster_key", "image/jpeg"),
}
PLACEHOLDERS = {"image": "img/placeholder-image.svg", "video": "img/placeholder-video.svg"}


def preview_file(*, asset_id, name):
    """(storage key, content type) of a preview, or 404."""
    if name not in FILES:
        raise Http404("No such preview.")
    field, content_type = FILES[name]
    preview = AssetPreview.objects.filter(asset_id=asset_id, status=PreviewStatus.READY).first()
    key = getattr(preview, field, "") if preview else ""
    if not key or (name.startswith("preview.") and preview.preview_mime != content_type):
        raise Http404("No such preview.")
    return key, content_type


def _url(asset_id, name, preview):
    return f"{reverse('asset_preview', args=[asset_id, name])}?v={preview.version}"


def picture_of(asset, preview):
    """What a page shows of a work: {thumbnail, preview, poster, clip, colour, placeholder}. Without
    a ready preview (metadata-only row, not made yet, or failed) a neutral drawing of its kind."""
    if preview is None or preview.status != PreviewStatus.READY:
        return {"thumbnail": static(PLACEHOLDERS.get(asset.kind, PLACEHOLDERS["image"])), "placeholder": True,
                "colour": "#d1d5db", "pending": preview is None and bool(asset.storage_key),
                "width": 320, "height": 240}
    picture = {"thumbnail": _url(asset.pk, "thumb.jpg", preview), "placeholder": False, "colour": preview.colour,
               "width": preview.thumbnail_width, "height": preview.thumbnail_height}
    if preview.preview_mime == "video/webm":
        picture["clip"] = _url(asset.pk, "preview.webm", preview)
        picture["poster"] = _url(asset.pk, "poster.jpg", preview)
    elif preview.preview_key:
        picture["large"] = _url(asset.pk, "preview.jpg", preview)
    return picture


def colour_swatch(colour):
    """The dominant colour as a tiny SVG data URI: shown under the thumbnail while it loads
    (a data: image, because the policy allows no style attribute to paint it)."""
    hex_colour = colour.lstrip("#") if colour and len(colour) == 7 else "d1d5db"
    return ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 4 3'%3E"
            f"%3Crect width='4' height='3' fill='%23{hex_colour}'/%3E%3C/svg%3E")


def tile(work, grants=None, *, opted_out=None):
    """A work as the grids show it: its picture and what the viewer should know at a glance."""
    # A missing preview row raises RelatedObjectDoesNotExist, an AttributeError: getattr's default covers it.
    picture = picture_of(work, getattr(work, "preview", None))
    picture["swatch"] = colour_swatch(picture["colour"])
    return {"work": work, "picture": picture, "grants": grants or [],
            "opted_out": work.contributor.opted_out if opted_out is None else opted_out}
