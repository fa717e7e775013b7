"""The AI model pages: the licensee registers, declares and releases; the public, contributors and staff read."""
import html
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.models import AIModel, DeclaredItem, ModelVersion, TrainingDeclaration
from licensing.services.ai_models import model_version_release, training_declare
from licensing.services.contributors import contributor_set_opt_out
from tests.conftest import make_user
from tests.licensing.ai_model_world import licensee_world


def text_of(response):
    return html.unescape(response.content.decode())


@pytest.fixture
def world(org_a, alice):
    return licensee_world(org_a, alice)


@pytest.fixture
def public_world(org_a, alice):
    return licensee_world(org_a, alice, public=True)


def released(world, **kwargs):
    training_declare(version=world.version, by=world.owner, slice_id=world.slice.pk, **kwargs)
    return model_version_release(version=world.version, by=world.owner)


# The licensee's pages

def test_the_dashboard_links_to_the_models(client_for, alice):
    page = text_of(client_for(alice).get("/licences/"))

    assert 'href="/ai-models/"' in page and "AI models" in page


def test_a_licensee_registers_a_model_adds_a_version_declares_a_subset_file_and_releases(client_for, world):
    client = client_for(world.owner)
    response = client.post("/ai-models/new/", {"name": "Crowd Counter", "modality": "image",
                                               "purpose": "Counts people.", "is_public": "on"})
    model = AIModel.objects.get(name="Crowd Counter")
    assert response.status_code == 302 and response["Location"] == f"/ai-models/{model.pk}/"
    assert model.slug == "crowd-counter" and model.is_public and model.organisation == world.org

    response = client.post(f"/ai-models/{model.pk}/", {"label": "0.1", "trained_from": "2026-11-01",
                                                       "trained_to": "2026-11-20"})
    version = ModelVersion.objects.get(model=model)
    assert response["Location"] == f"/ai-models/{model.pk}/versions/{version.pk}/"

    listed = f"{world.images[0].pk}\n{world.images[1].pk}\n\n{world.videos[0].pk}\n"
    response = client.post(f"/ai-models/{model.pk}/versions/{version.pk}/declarations/", {
        "slice": world.slice.pk, "asset_file": SimpleUploadedFile("ids.txt", listed.encode()), "supersedes": ""})
    assert response.status_code == 302
    page = text_of(client.get(response["Location"]))
    assert "Declared: version 0.1 was trained on 3 items of the slice" in page
    declaration = TrainingDeclaration.objects.get(version=version)
    assert DeclaredItem.objects.filter(declaration=declaration).count() == 3

    response = client.post(f"/ai-models/{model.pk}/versions/{version.pk}/release/", {"confirm": "on"})
    page = text_of(client.get(response["Location"]))
    assert "Version 0.1 released: contributors can see it, and it is on the model's public page." in page
    version.refresh_from_db()
    assert version.released


def test_a_refused_subset_file_lists_the_ids_and_declares_nothing(client_for, world):
    client = client_for(world.owner)
    url = f"/ai-models/{world.model.pk}/versions/{world.version.pk}/declarations/"

    response = client.post(url, {"slice": world.slice.pk,
                                 "asset_file": SimpleUploadedFile("ids.json", b"[999991, 999992]")})

    assert response.status_code == 400
    assert "2 asset ids are not in slice 1 of licence" in text_of(response)
    assert "999991, 999992" in text_of(response)
    assert not TrainingDeclaration.objects.exists()

    response = client.post(url, {"slice": world.slice.pk, "asset_file": SimpleUploadedFile("ids.txt", b"12\nabc\n")})
    assert response.status_code == 400
    assert "these lines are not: 2." in text_of(response)


def test_release_refused_for_a_private_model_under_a_public_duty_says_why(client_for, world):
    world.licence.offer_disclosure = "public"
    world.licence.save(update_fields=["offer_disclosure"])
    training_declare(version=world.version, by=world.owner, slice_id=world.slice.pk)

    response = client_for(world.owner).post(
        f"/ai-models/{world.model.pk}/versions/{world.version.pk}/release/", {"confirm": "on"})

    assert response.status_code == 400
    assert "cannot be released while Street Segmenter is private" in text_of(response)
    assert not ModelVersion.objects.get(pk=world.version.pk).released


def test_another_organisation_gets_404_for_the_model_and_its_versions(client_for, world, bob):
    client = client_for(bob)
    for url in (f"/ai-models/{world.model.pk}/", f"/ai-models/{world.model.pk}/versions/{world.version.pk}/",
                f"/ai-models/{world.model.pk}/versions/{world.version.pk}/eu-summary.json"):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/declarations/",
                           {"slice": world.slice.pk})
    assert response.status_code == 404
    assert "Street Segmenter" not in text_of(client.get("/ai-models/"))


def test_staff_see_every_model_with_counts_but_cannot_change_them(client_for, world, rita):
    released(world)
    client = client_for(rita)

    page = text_of(client.get("/ai-models/"))
    row = re.search(rf'<tr data-model="{world.model.pk}">(.*?)</tr>', page, re.S).group(1)
    assert "Acme Vision" in row and "Street Segmenter" in row
    assert re.search(r'class="versions">1<.*class="released">1<.*class="declarations">1<', row, re.S)
    version_page = text_of(client.get(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/"))
    assert "Ann Photographer" in version_page and "Ben Filmmaker" in version_page
    assert client.post(f"/ai-models/{world.model.pk}/publish/").status_code == 403


# The public model page

def jsonld_in(page):
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return json.loads(block)


def test_a_private_model_has_no_public_page(client, world):
    released(world)

    assert client.get(f"/models/acme-vision/{world.model.slug}/").status_code == 404
    assert client.get(f"/models/acme-vision/{world.model.slug}.jsonld").status_code == 404
    assert client.get("/models/acme-vision/no-such-model/").status_code == 404


def test_the_public_page_counts_what_trained_each_released_version_as_the_database_does(client, public_world):
    world = public_world
    contributor_set_opt_out(contributor=world.ben, opted_out=True)  # before training: left out
    released(world)
    contributor_set_opt_out(contributor=world.ann, opted_out=True)  # after training: withdrawn

    response = client.get("/models/acme-vision/street-segmenter/")

    assert response.status_code == 200
    page = text_of(response)
    article = re.search(rf'<article id="version-{world.version.pk}".*?</article>', page, re.S).group(0)
    facts = dict(re.findall(r'<dd class="([\w-]+)">(.*?)</dd>', article))
    assert facts["images"] == "6" and facts["videos"] == "0" and facts["contributors"] == "1"
    assert facts["phases"] == "Research" and facts["left-out"] == "2" and facts["withdrawn"] == "6"
    document = jsonld_in(response.content.decode())
    assert document["@type"] == "Dataset" and document["@context"] == "https://schema.org"
    (part,) = document["hasPart"]
    measured = {p["name"]: p["value"] for p in part["variableMeasured"]}
    assert measured == {"images": 6, "videos": 0, "contributors": 1, "left out: opted out before training": 2,
                        "withdrawn after training": 6}
    linked = client.get("/models/acme-vision/street-segmenter.jsonld")
    assert linked.status_code == 200 and linked["Content-Type"] == "application/ld+json"
    assert linked.json() == document
    assert 'href="/models/acme-vision/street-segmenter.jsonld"' in page


def test_an_unreleased_version_is_not_on_the_public_page(client, public_world):
    training_declare(version=public_world.version, by=public_world.owner, slice_id=public_world.slice.pk)

    page = text_of(client.get("/models/acme-vision/street-segmenter/"))

    assert "No version of this model has been released yet." in page
    assert jsonld_in(client.get("/models/acme-vision/street-segmenter/").content.decode())["hasPart"] == []


def test_the_transparency_page_links_public_models(client, public_world):
    released(public_world)

    page = text_of(client.get("/transparency/"))

    assert '<a href="/models/acme-vision/street-segmenter/">Street Segmenter</a> by Acme Vision' in page


# The contributor portal

def test_a_contributor_sees_models_trained_on_their_works_with_a_private_model_unnamed(client_for, world):
    released(world)
    ann_user = make_user("ann@photos.example")
    world.ann.user = ann_user
    world.ann.save(update_fields=["user"])

    response = client_for(ann_user).get("/contributor/models/")

    assert response.status_code == 200
    page = text_of(response)
    row = re.search(r'<table id="models-trained">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert "a private model of Acme Vision" in row and "Street Segmenter" not in row
    assert re.search(r'class="works">6<', row) and "Research" in row
    assert 'href="/contributor/models/"' in text_of(client_for(ann_user).get("/contributor/"))


def test_a_contributor_sees_a_public_model_by_name_with_a_link(client_for, public_world):
    released(public_world)
    ben_user = make_user("ben@films.example")
    public_world.ben.user = ben_user
    public_world.ben.save(update_fields=["user"])

    page = text_of(client_for(ben_user).get("/contributor/models/"))

    assert '<a href="/models/acme-vision/street-segmenter/">Street Segmenter</a>' in page
    assert re.search(r'class="version">1.0<', page) and re.search(r'class="works">2<', page)
