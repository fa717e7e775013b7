"""Dataset cards (README.md with Hugging Face front matter) for slices and model versions, parsed offline."""
import pytest
from huggingface_hub import DatasetCard

from licensing.manifests.dataset_card import size_category
from licensing.services.ai_models import training_declare
from tests.licensing.ai_model_world import licensee_world


@pytest.fixture
def world(org_a, alice):
    return licensee_world(org_a, alice)


def test_a_slice_has_a_dataset_card_beside_its_manifests(client_for, world, settings):
    response = client_for(world.owner).get(f"/slices/{world.slice.pk}/README.md")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    card = DatasetCard(response.content.decode())
    data = card.data.to_dict()
    assert data["license"] == "other"
    assert data["license_name"] == f"tessera-licence-{world.licence.pk}"
    assert data["license_link"] == f"{settings.SITE_URL}/licences/{world.licence.pk}/terms.jsonld"
    assert data["size_categories"] == ["n<1K"]
    assert data["task_categories"] == ["image-classification", "video-classification"]
    assert "8 works licensed by" in card.text and "410 Gone" in card.text


def test_another_organisation_cannot_read_the_slice_card(client_for, world, bob):
    assert client_for(bob).get(f"/slices/{world.slice.pk}/README.md").status_code == 404


def test_a_model_version_has_a_dataset_card_of_what_trained_it(client_for, world, settings):
    training_declare(version=world.version, by=world.owner, slice_id=world.slice.pk,
                     asset_ids=[asset.pk for asset in world.images])

    response = client_for(world.owner).get(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/README.md")

    assert response.status_code == 200
    card = DatasetCard(response.content.decode())
    assert card.data.license == "other"
    assert card.data.license_link == f"{settings.SITE_URL}/licences/{world.licence.pk}/terms.jsonld"
    assert card.data.size_categories == ["n<1K"] and card.data.task_categories == ["image-classification"]
    assert card.data.pretty_name == "Licensed training data of Street Segmenter 1.0"
    assert "6 images and 0 videos by 1 contributors" in card.text
    assert f"| {world.licence.pk} | Research | 6 | 0 | 1 | 0 | 0 |" in card.text


def test_a_title_with_yaml_characters_stays_a_string(client_for, world):
    world.licence.project_title = 'Edge: "cases" # and --- dashes'
    world.licence.save(update_fields=["project_title"])

    card = DatasetCard(client_for(world.owner).get(f"/slices/{world.slice.pk}/README.md").content.decode())

    assert card.data.license == "other" and "Edge: \"cases\" # and --- dashes" in card.text


@pytest.mark.parametrize("count, category", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                             (100_000, "100K<n<1M"), (2_000_000, "1M<n<10M")])
def test_size_categories_follow_the_hubs_bins(count, category):
    assert size_category(count) == category
