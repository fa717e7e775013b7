"""A licensee with a ready slice and a model to declare it for, shared by the AI model tests."""
from types import SimpleNamespace

from licensing.services.ai_models import ai_model_register, model_version_add
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import ContributorFactory, catalogue, research_licence


def ready_slice(licence, by, size, seed=7):
    slice_ = slice_request(licence=licence, by=by, size=size, seed=seed)
    slice_build(slice_id=slice_.pk)  # the on_commit job never fires inside the test's transaction
    slice_.refresh_from_db()
    assert slice_.status == "ready", slice_.failure_reason
    return slice_


def licensee_world(organisation, owner, *, images=6, videos=2, public=False):
    """Two contributors (ann: images; ben: videos) and a research licence with a ready slice of all their works."""
    ann = ContributorFactory(display_name="Ann Photographer")
    ben = ContributorFactory(display_name="Ben Filmmaker")
    image_assets = catalogue(images, contributor=ann)
    video_assets = catalogue(videos, contributor=ben, kind="video", mime_type="video/mp4", duration_seconds=90.0,
                             bytes=5_000_000)
    licence = research_licence(organisation=organisation, applicant=owner, max_assets=1000, max_slices=50,
                               max_bytes=10**12)
    slice_ = ready_slice(licence, owner, images + videos)
    model = ai_model_register(organisation=organisation, by=owner, name="Street Segmenter", modality="both",
                              purpose="Segments pedestrians in street footage.", is_public=public)
    version = model_version_add(model=model, by=owner, label="1.0")
    return SimpleNamespace(org=organisation, owner=owner, ann=ann, ben=ben, images=image_assets,
                           videos=video_assets, licence=licence, slice=slice_, model=model, version=version)
