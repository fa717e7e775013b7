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
