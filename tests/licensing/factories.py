import factory

from licensing.models import Licence

APPLICATION = {
    "project_title": "Street scene segmentation",
    "description": "Segmenting pedestrians and vehicles in city footage.",
    "intended_use": "Train and evaluate a research segmentation model.",
    "model_type": "classifier",
    "media_kinds": ["image"],
    "estimated_volume": 2000,
    "team_size": 4,
    "funding_stage": "seed",
}


class LicenceFactory(factory.django.DjangoModelFactory):
    """A licence put straight into a state, for tests that start mid-journey."""

    class Meta:
        model = Licence

    project_title = factory.Sequence(lambda n: f"Project {n}")
    description = APPLICATION["description"]
    intended_use = APPLICATION["intended_use"]
    model_type = "classifier"
    media_kinds = factory.LazyFunction(lambda: ["image", "video"])
    estimated_volume = 1000
    team_size = 3
    funding_stage = "seed"
    terms_accepted_at = factory.Faker("past_datetime", tzinfo=__import__("datetime").timezone.utc)
    terms_version = "2026-01"


class ContributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "licensing.Contributor"

    display_name = factory.Sequence(lambda n: f"Contributor {n}")


class AssetFactory(factory.django.DjangoModelFactory):
    """A metadata-only catalogue row (no file behind it) unless a storage_key is given."""

    class Meta:
        model = "licensing.Asset"

    contributor = factory.SubFactory(ContributorFactory)
    kind = "image"
    title = factory.Sequence(lambda n: f"Photo {n}")
    tags = factory.LazyFunction(lambda: ["city"])
    width = 1920
    height = 1080
    duration_seconds = None
    bytes = 100_000
    mime_type = "image/jpeg"
    sha256 = factory.Faker("sha256")
    storage_key = ""


def catalogue(count, *, contributor=None, **fields):
    """`count` assets in one INSERT, all by one contributor (a new one unless given)."""
    contributor = contributor or ContributorFactory()
    assets = AssetFactory.build_batch(count, contributor=contributor, **fields)
    return AssetFactory._meta.model.objects.bulk_create(assets)


def research_licence(*, organisation, applicant, **fields):
    """An approved research licence, active for another 90 days; caps unlimited unless given."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    values = {"state": "research_active", "phase": "research", "research_starts_at": now - timedelta(days=1),
              "research_ends_at": now + timedelta(days=90)}
    values.update(fields)
    return LicenceFactory(organisation=organisation, applicant=applicant, **values)


def commercial_licence(*, organisation, applicant, **fields):
    """A paid commercial licence, active for another year; the offer's caps unlimited unless given."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    values = {"state": "commercial_active", "phase": "commercial", "commercial_starts_at": now - timedelta(days=1),
              "commercial_ends_at": now + timedelta(days=365)}
    values.update(fields)
    return LicenceFactory(organisation=organisation, applicant=applicant, **values)
