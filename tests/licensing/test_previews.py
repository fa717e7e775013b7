"""Thumbnails and previews, made from the demo's real PNG, JPEG and MP4 files."""
import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from licensing.models import Asset, AssetPreview, Job
from licensing.services.previews import previews_make
from tests.licensing.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def demo(media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", force=True, assets=14, contributors=3, video_share=0.35)
    return Asset.objects.all()


def stored(key):
    with default_storage.open(key) as handle:
        return handle.read()


def test_seeding_the_catalogue_schedules_a_preview_job_for_every_work_and_makes_them(demo):
    assert Job.objects.filter(name="previews.make").count() == demo.count()
    assert AssetPreview.objects.filter(status="ready").count() == demo.count()


def test_an_image_gets_a_small_jpeg_thumbnail_and_preview_and_a_dominant_colour(demo):
    for asset in demo.filter(kind="image"):
        preview = asset.preview
        thumb = Image.open(io.BytesIO(stored(preview.thumbnail_key)))
        large = Image.open(io.BytesIO(stored(preview.preview_key)))
        assert thumb.format == large.format == "JPEG"
        assert max(thumb.size) <= 320 and max(large.size) <= 800
        assert (thumb.width, thumb.height) == (preview.thumbnail_width, preview.thumbnail_height)
        # The aspect ratio of the original is kept.
        assert abs(thumb.width / thumb.height - asset.width / asset.height) < 0.02
        assert preview.colour.startswith("#") and len(preview.colour) == 7


def test_a_video_gets_a_poster_frame_and_a_few_seconds_of_low_resolution_webm(demo):
    videos = demo.filter(kind="video")
    assert videos.exists()
    for asset in videos:
        preview = asset.preview
        poster = Image.open(io.BytesIO(stored(preview.poster_key)))
        assert poster.format == "JPEG" and poster.size[0] <= asset.width
        clip = stored(preview.preview_key)
        assert clip[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
        assert preview.preview_mime == "video/webm"
        import av

        with av.open(io.BytesIO(clip)) as container:
            stream = container.streams.video[0]
            frames = list(container.decode(stream))
            assert stream.codec_context.width <= 240
            assert 1 <= len(frames) <= 3 * 8 + 1


def test_previews_are_watermarked(demo):
    asset = demo.filter(kind="image").order_by("-width").first()
    thumb = Image.open(io.BytesIO(stored(asset.preview.thumbnail_key))).convert("L")
    with default_storage.open(asset.storage_key) as handle:
        original = Image.open(handle).convert("L").resize(thumb.size)
    band = thumb.height // 12
    # The band along the bottom is darker than the original there.
    marked = sum(thumb.crop((0, thumb.height - band, thumb.width, thumb.height)).tobytes())
    plain = sum(original.crop((0, thumb.height - band, thumb.width, thumb.height)).tobytes())
    assert marked < plain


def test_previews_are_served_to_anyone_with_a_long_cache_and_the_original_is_not(client, demo):
    asset = demo.filter(kind="video").first()
    for name, content_type in (("thumb.jpg", "image/jpeg"), ("poster.jpg", "image/jpeg"),
                               ("preview.webm", "video/webm")):
        response = client.get(f"/previews/{asset.pk}/{name}")
        assert response.status_code == 200, name
        assert response["Content-Type"] == content_type
        assert "max-age=31536000" in response["Cache-Control"] and "public" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == stored(getattr(asset.preview, {
            "thumb.jpg": "thumbnail_key", "poster.jpg": "poster_key", "preview.webm": "preview_key"}[name]))
    assert client.get(f"/previews/{asset.pk}/preview.jpg").status_code == 404
    assert client.get(f"/previews/{asset.pk}/original.mp4").status_code == 404
    assert client.get("/previews/999999/thumb.jpg").status_code == 404


def test_a_metadata_only_row_gets_a_placeholder_and_a_broken_file_a_failure_not_an_error(media):
    metadata_only = AssetFactory()
    broken = AssetFactory(storage_key="demo/missing.jpg")
    assert previews_make(asset_id=metadata_only.pk).status == "placeholder"
    failed = previews_make(asset_id=broken.pk)
    assert failed.status == "failed" and failed.failure
    assert previews_make(asset_id=10**9) is None


def test_the_backfill_command_schedules_only_what_is_missing_and_can_make_them_here(media, demo):
    AssetPreview.objects.filter(pk__in=list(demo.values_list("pk", flat=True)[:3])).delete()
    call_command("make_previews", now=True)
    assert AssetPreview.objects.filter(status="ready").count() == demo.count()
    jobs_before = Job.objects.count()
    call_command("make_previews")  # nothing missing: nothing scheduled
    assert Job.objects.count() == jobs_before


def test_the_backfill_gives_metadata_only_rows_a_placeholder_without_a_job_each(media):
    rows = [AssetFactory() for _ in range(3)]
    call_command("make_previews")
    assert set(AssetPreview.objects.values_list("asset_id", "status")) == {(row.pk, "placeholder") for row in rows}
    assert not Job.objects.filter(name="previews.make").exists()
    call_command("make_previews")  # nothing left to do
    assert AssetPreview.objects.count() == 3
