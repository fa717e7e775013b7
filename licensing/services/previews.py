"""Previews: the thumbnails, poster frames and short clips the catalogue shows of each work.

Made by a job from the original file (Pillow for images, PyAV for videos), small and
watermarked, so they can be served to anyone with a year-long cache while the originals
stay behind a licence's signed links. A metadata-only row gets a placeholder record, so
the catalogue knows there is nothing to wait for.
"""
import io
from fractions import Fraction

import av
import structlog
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont, ImageOps

from licensing import jobs
from licensing.models import Asset, AssetPreview, PreviewStatus

log = structlog.get_logger(__name__)

THUMBNAIL_BOX = (320, 320)
PREVIEW_BOX = (800, 800)
CLIP_WIDTH = 240
CLIP_SECONDS = 3
CLIP_FPS = 8
WATERMARK = "TESSERA PREVIEW"
NEUTRAL = "#d1d5db"


def previews_schedule(*, asset_ids):
    """Ask for previews of these assets (new or changed files). A file already previewed is not redone."""
    assets = list(Asset.objects.filter(pk__in=list(asset_ids)).values("pk", "sha256"))
    sha = {row["pk"]: row["sha256"] for row in assets}
    return jobs.schedule_many("previews.make", [{"asset_id": row["pk"]} for row in assets],
                              dedupe=lambda kwargs: f"previews.make:{kwargs['asset_id']}:{sha[kwargs['asset_id']]}")


def previews_placeholders_backfill():
    """Placeholder records for every metadata-only row without one, in one statement: there is no
    file to make previews from, so no job is needed (a million rows would be a million jobs)."""
    preview, asset = AssetPreview._meta.db_table, Asset._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {preview} (asset_id, status, colour, thumbnail_key, thumbnail_width, thumbnail_height, "
            f"preview_key, preview_mime, poster_key, source_sha256, failure, made_at) "
            f"SELECT a.id, %s, %s, '', 0, 0, '', '', '', a.sha256, '', %s FROM {asset} a "
            f"WHERE a.storage_key = '' AND NOT EXISTS (SELECT 1 FROM {preview} p WHERE p.asset_id = a.id)",
            [PreviewStatus.PLACEHOLDER, NEUTRAL, timezone.now()],
        )
        return cursor.rowcount


def previews_make(*, asset_id):
    """Make (or make again) the previews of one asset. Safe to run twice: the second run rewrites the same files."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        return None  # deleted since the job was written
    values = {"source_sha256": asset.sha256, "made_at": timezone.now(), "failure": "", "colour": NEUTRAL,
              "thumbnail_key": "", "thumbnail_width": 0, "thumbnail_height": 0, "preview_key": "",
              "preview_mime": "", "poster_key": ""}
    if not asset.storage_key:
        values["status"] = PreviewStatus.PLACEHOLDER
    else:
        try:
            made = _video_previews(asset) if asset.kind == Asset.Kind.VIDEO else _image_previews(asset)
        except Exception as error:  # a broken or missing original must not stop the catalogue
            log.warning("preview_failed", asset=asset.pk, error=str(error))
            values.update(status=PreviewStatus.FAILED, failure=f"{type(error).__name__}: {error}"[:2000])
        else:
            values.update(status=PreviewStatus.READY, **made)
    with transaction.atomic():
        preview, _ = AssetPreview.objects.update_or_create(asset_id=asset.pk, defaults=values)
    return preview


def _key(asset, name):
    return f"previews/{asset.pk // 1000:04d}/{asset.pk}/{name}"


def _save(key, data):
    if default_storage.exists(key):
        default_storage.delete(key)
    default_storage.save(key, ContentFile(data))
    return key


def dominant_colour(image):
    """The most common colour once the picture is reduced to a few: what the eye sees first."""
    small = image.convert("RGB").resize((32, 32))
    quantised = small.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette()
    count, index = max(quantised.getcolors())
    r, g, b = palette[index * 3: index * 3 + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the bitmap font, one size
        return ImageFont.load_default()


def watermark(image):
    """A band along the bottom with the mark, and for larger pictures the mark across the middle."""
    image = image.convert("RGB")
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width, height = image.size
    band = max(12, height // 12)
    draw.rectangle([0, height - band, width, height], fill=(0, 0, 0, 110))
    font = _font(max(8, band * 2 // 3))
    draw.text((width // 2, height - band // 2), WATERMARK, font=font, fill=(255, 255, 255, 220), anchor="mm")
    if width >= 400:
        big = _font(max(16, width // 14))
        draw.text((width // 2, height // 2), WATERMARK, font=big, fill=(255, 255, 255, 70), anchor="mm",
                  stroke_width=1, stroke_fill=(0, 0, 0, 50))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _jpeg(image, quality=72):
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _fit(image, box):
    image = image.copy()
    image.thumbnail(box, Image.Resampling.LANCZOS)
    return image


def _image_previews(asset):
    with default_storage.open(asset.storage_key) as handle:
        original = ImageOps.exif_transpose(Image.open(handle))
        original.load()
    original = original.convert("RGB")
    thumb = watermark(_fit(original, THUMBNAIL_BOX))
    preview = watermark(_fit(original, PREVIEW_BOX))
    return {
        "colour": dominant_colour(original),
        "thumbnail_key": _save(_key(asset, "thumb.jpg"), _jpeg(thumb)),
        "thumbnail_width": thumb.width, "thumbnail_height": thumb.height,
        "preview_key": _save(_key(asset, "preview.jpg"), _jpeg(preview)),
        "preview_mime": "image/jpeg",
    }


def _video_previews(asset):
    """The poster is the frame a second in (or the last, for shorter clips); the clip is the first
    few seconds, small, watermarked, as WebM (VP8), which every current browser plays."""
    frames = []
    with default_storage.open(asset.storage_key) as handle, av.open(handle) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 24)
        step = max(1, round(rate / CLIP_FPS))
        poster, poster_at = None, min(1.0, (asset.duration_seconds or 0) / 2)
        for n, frame in enumerate(container.decode(stream)):
            seconds = float(frame.time) if frame.time is not None else n / rate
            if seconds > CLIP_SECONDS:
                break
            image = frame.to_image()
            if poster is None or seconds <= poster_at:
                poster = image
            if n % step == 0:
                frames.append(image)
    if poster is None:
        raise ValueError("the video has no frames")
    poster_thumb = watermark(_fit(poster, THUMBNAIL_BOX))
    poster_large = watermark(_fit(poster, PREVIEW_BOX))
    return {
        "colour": dominant_colour(poster),
        "thumbnail_key": _save(_key(asset, "thumb.jpg"), _jpeg(poster_thumb)),
        "thumbnail_width": poster_thumb.width, "thumbnail_height": poster_thumb.height,
        "poster_key": _save(_key(asset, "poster.jpg"), _jpeg(poster_large)),
        "preview_key": _save(_key(asset, "preview.webm"), _clip(frames)),
        "preview_mime": "video/webm",
    }


def _clip(frames):
    first = frames[0]
    width = min(CLIP_WIDTH, first.width) // 2 * 2
    height = max(2, round(first.height * width / first.width) // 2 * 2)
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=Fraction(CLIP_FPS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 150_000
        for image in frames:
            marked = watermark(image.resize((width, height), Image.Resampling.BILINEAR))
            for packet in stream.encode(av.VideoFrame.from_image(marked)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
