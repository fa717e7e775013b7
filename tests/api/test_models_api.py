"""The AI model endpoints of v1: a training pipeline registers models and versions, declares slices, releases."""
import pytest
from huggingface_hub import DatasetCard

from licensing.models import AIModel, DeclaredItem, ModelVersion, TrainingDeclaration
from licensing.services.contributors import contributor_set_opt_out
from tests.api.conftest import error_of
from tests.licensing.ai_model_world import licensee_world, ready_slice
from tests.licensing.factories import research_licence


@pytest.fixture
def world(org_a, alice):
    return licensee_world(org_a, alice)


@pytest.fixture
def key(world, make_key):
    return make_key(world.org)[1]


@pytest.fixture
def base(world):
    return f"/api/v1/models/{world.model.pk}/versions/{world.version.pk}/"


def test_a_pipeline_registers_a_model_once_per_idempotency_key(api, key, world):
    client = api(key)
    body = {"name": "Crowd Counter", "modality": "image", "purpose": "Counts people.", "is_public": True}

    first = client.post("/api/v1/models/", body, format="json", HTTP_IDEMPOTENCY_KEY="model-1")
    again = client.post("/api/v1/models/", body, format="json", HTTP_IDEMPOTENCY_KEY="model-1")

    assert first.status_code == 201 and again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert first.json()["slug"] == "crowd-counter" and first.json()["links"]["public_page"].endswith(
        "/models/acme-vision/crowd-counter/")
    assert AIModel.objects.filter(name="Crowd Counter").count() == 1
    listed = client.get("/api/v1/models/").json()
    assert [m["name"] for m in listed["results"]] == ["Crowd Counter", "Street Segmenter"]


def test_a_taken_slug_is_refused_with_the_field(api, key, world):
    response = api(key).post("/api/v1/models/", {"name": "Street Segmenter", "modality": "image"}, format="json")

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "model_refused" and "already has a model at “street-segmenter”" in error["message"]
    assert error["fields"] == {"slug": ["Already used by another of your models."]}


def test_writing_needs_the_models_write_scope(api, make_key, world):
    _, read_only = make_key(world.org, scopes=["models:read"])
    client = api(read_only)

    assert client.get("/api/v1/models/").status_code == 200
    response = client.post("/api/v1/models/", {"name": "X", "modality": "image"}, format="json")
    assert response.status_code == 403
    assert error_of(response)["message"] == ("This API key lacks the scope models:write; create a key with it on "
                                             "the API keys page.")
    assert not AIModel.objects.filter(name="X").exists()


def test_another_organisations_model_is_404(api, make_key, world, org_b, bob):
    _, theirs = make_key(org_b)
    client = api(theirs)

    for url in (f"/api/v1/models/{world.model.pk}/", f"/api/v1/models/{world.model.pk}/versions/",
                f"/api/v1/models/{world.model.pk}/versions/{world.version.pk}/",
                f"/api/v1/models/{world.model.pk}/versions/{world.version.pk}/eu-summary.json"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    response = client.post(f"/api/v1/models/{world.model.pk}/versions/{world.version.pk}/declarations/",
                           {"slice": world.slice.pk}, format="json")
    assert response.status_code == 404
    assert client.get("/api/v1/models/").json()["results"] == []


def test_versions_are_added_and_listed(api, key, world):
    client = api(key)

    response = client.post(f"/api/v1/models/{world.model.pk}/versions/",
                           {"label": "2.0", "trained_from": "2026-10-01", "trained_to": "2026-09-01"}, format="json")
    assert response.status_code == 422
    assert error_of(response)["fields"] == {"trained_to": ["Must be on or after trained_from."]}

    response = client.post(f"/api/v1/models/{world.model.pk}/versions/",
                           {"label": "2.0", "trained_from": "2026-10-01", "trained_to": "2026-10-20"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="v2")
    assert response.status_code == 201
    assert response.json()["released"] is False and response.json()["trained_to"] == "2026-10-20"
    labels = [v["label"] for v in client.get(f"/api/v1/models/{world.model.pk}/versions/").json()["results"]]
    assert labels == ["2.0", "1.0"]


def test_declaring_a_subset_then_reading_the_version_with_its_declarations(api, key, world, base):
    client = api(key)
    ids = [asset.pk for asset in world.images[:3]]

    response = client.post(base + "declarations/", {"slice": world.slice.pk, "asset_ids": ids}, format="json",
                           HTTP_IDEMPOTENCY_KEY="d1")

    assert response.status_code == 201
    declaration = response.json()
    assert declaration["whole_slice"] is False and declaration["item_count"] == 3
    assert declaration["superseded_by"] is None and declaration["licence"] == world.licence.pk
    assert DeclaredItem.objects.filter(declaration_id=declaration["id"]).count() == 3
    detail = client.get(base).json()
    assert [d["id"] for d in detail["declarations"]] == [declaration["id"]]
    assert detail["training"]["images"] == 3 and detail["training"]["contributors"] == 1


def test_foreign_and_withdrawn_ids_are_refused_with_their_lists(api, key, world, base):
    contributor_set_opt_out(contributor=world.ben, opted_out=True)
    outsiders = list(range(900_001, 900_031))

    response = api(key).post(base + "declarations/", {"slice": world.slice.pk,
                                                      "asset_ids": [world.videos[0].pk, *outsiders]}, format="json")

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "declaration_refused"
    assert "30 asset ids are not in slice 1" in error["message"] and "and 10 more" in error["message"]
    assert error["fields"]["asset_ids"] == {"not_in_slice": outsiders[:20], "not_in_slice_count": 30,
                                            "withdrawn": [world.videos[0].pk], "withdrawn_count": 1}
    assert not TrainingDeclaration.objects.exists()


def test_a_slice_of_another_organisation_is_404(api, key, world, base, org_b, bob):
    theirs = ready_slice(research_licence(organisation=org_b, applicant=bob, max_assets=100, max_slices=5,
                                          max_bytes=10**12), bob, 2, seed=3)
    response = api(key).post(base + "declarations/", {"slice": theirs.pk}, format="json")

    assert response.status_code == 404
    assert f"No slice {theirs.pk}" in error_of(response)["message"]


def test_supersede_then_release_then_the_summary_and_card(api, key, world, base):
    client = api(key)
    old = client.post(base + "declarations/", {"slice": world.slice.pk}, format="json").json()
    new = client.post(base + "declarations/", {"slice": world.slice.pk, "asset_ids": [world.images[0].pk],
                                               "supersedes": old["id"]}, format="json").json()

    response = client.post(base + "release/")

    assert response.status_code == 200
    released = response.json()
    assert released["released"] is True and released["released_at"]
    by_id = {d["id"]: d for d in released["declarations"]}
    assert by_id[old["id"]]["superseded_by"] == new["id"] and by_id[new["id"]]["supersedes"] == old["id"]
    assert released["training"]["images"] == 1
    again = client.post(base + "release/")
    assert again.status_code == 422 and "already released" in error_of(again)["message"]
    summary = client.get(base + "eu-summary.json")
    assert summary.status_code == 200 and summary.json()["fields"]["2.2.1.a"] == {
        **summary.json()["fields"]["2.2.1.a"], "value": True, "source": "records"}
    card = client.get(base + "README.md")
    assert card.status_code == 200 and DatasetCard(card.content.decode()).data.license == "other"


def test_release_under_a_public_duty_is_refused_for_a_private_model(api, key, world, base):
    world.licence.offer_disclosure = "public"
    world.licence.save(update_fields=["offer_disclosure"])
    client = api(key)
    client.post(base + "declarations/", {"slice": world.slice.pk}, format="json")

    response = client.post(base + "release/")

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "release_refused" and "requires a public model page" in error["message"]
    assert not ModelVersion.objects.get(pk=world.version.pk).released


def test_the_slice_dataset_card_comes_from_the_api_too(api, key, world):
    response = api(key).get(f"/api/v1/slices/{world.slice.pk}/README.md")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    assert DatasetCard(response.content.decode()).data.license_name == f"tessera-licence-{world.licence.pk}"
    detail = api(key).get(f"/api/v1/slices/{world.slice.pk}/").json()
    assert detail["links"]["dataset_card"].endswith(f"/api/v1/slices/{world.slice.pk}/README.md")
