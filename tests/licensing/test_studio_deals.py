"""Studio deals: offers that cover the catalogue, listed collections or the licence's slices; exclusivity
for the term, decided under a lock; the whole-collection grant as one slice; the ODRL custom-model rule."""
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import Slice, SliceItem
from licensing.selectors.collections import exclusivity_table
from licensing.services.collections import collection_create
from licensing.services.licences import (
    licence_accept_offer,
    licence_decline_upgrade,
    licence_make_offer,
    licence_record_payment,
)
from licensing.services.slices import slice_build, slice_request
from licensing.terms import licence_offer_terms
from licensing.workflow import LicenceActionRefused
from tests.conftest import make_organisation
from tests.licensing.factories import (
    ContributorFactory,
    LicenceFactory,
    catalogue,
    research_licence,
)
from tests.licensing.test_terms import VALIDATOR

OFFER = {"fee": "50000.00", "currency": "EUR", "billing_period": "one_off", "term_months": 24,
         "scope": "Train the studio's own video model", "territory": "Worldwide"}


def upgrade_requested(organisation, applicant, **fields):
    now = timezone.now()
    return LicenceFactory(organisation=organisation, applicant=applicant, state="upgrade_requested",
                          phase="research", research_starts_at=now - timedelta(days=10),
                          research_ends_at=now + timedelta(days=80), max_assets=1000, max_bytes=10**12,
                          max_slices=10, upgrade_intended_use="A video model", upgrade_expected_scale="all", **fields)


@pytest.fixture
def studio_catalogue(db):
    studio = make_organisation("Lighthouse Films", kind="studio")
    director = ContributorFactory(display_name="Dora")
    films = catalogue(6, contributor=director, kind="video", duration_seconds=60.0, mime_type="video/mp4")
    for n, film in enumerate(films):
        film.external_id = f"F-{n}"
        film.save(update_fields=["external_id"])
    films_collection = collection_create(name="Lighthouse films", by=None, owner_organisation=studio,
                                         work_external_ids=[f.external_id for f in films])
    photos = catalogue(10)
    return {"studio": studio, "collection": films_collection, "films": films, "photos": photos}


def build(licence, by, **request):
    slice_ = slice_request(licence=licence, by=by, **request)
    slice_build(slice_id=slice_.pk)
    slice_.refresh_from_db()
    return slice_


def granted(slice_):
    return set(SliceItem.objects.filter(slice=slice_).values_list("asset_id", flat=True))


@pytest.mark.django_db
def test_an_exclusive_collection_offer_keeps_its_works_out_of_other_licences_slices(
        studio_catalogue, org_a, org_b, alice, bob, adam):
    deal = upgrade_requested(org_a, alice)
    licence_make_offer(licence=deal, by=adam, coverage="collections", collections=[studio_catalogue["collection"]],
                       exclusive=True, **OFFER)
    other = research_licence(organisation=org_b, applicant=bob, max_assets=100)

    slice_ = build(other, bob, size=100)

    assert slice_.status == "ready"
    assert granted(slice_) == {p.pk for p in studio_catalogue["photos"]}


@pytest.mark.django_db
def test_a_conflicting_offer_is_refused_naming_the_licence_it_conflicts_with(studio_catalogue, org_a, org_b, alice,
                                                                             bob, adam):
    first = upgrade_requested(org_a, alice, project_title="Studio model")
    licence_make_offer(licence=first, by=adam, coverage="collections", collections=[studio_catalogue["collection"]],
                       exclusive=True, **OFFER)
    second = upgrade_requested(org_b, bob)
    with pytest.raises(LicenceActionRefused) as refusal:
        licence_make_offer(licence=second, by=adam, coverage="catalogue", exclusive=True, **OFFER)
    assert str(refusal.value) == (
        f"Cannot make the offer: it conflicts with licence #{first.pk} (Studio model, Acme Vision), which holds "
        "some of these works exclusively (offered, not yet paid).")
    second.refresh_from_db()
    assert (second.state, second.offer_made_at) == ("upgrade_requested", None)
    # A deal that is not exclusive over the same collection is refused too; one over the catalogue is not:
    # its slices simply leave the exclusive works out.
    with pytest.raises(LicenceActionRefused, match=f"licence #{first.pk}"):
        licence_make_offer(licence=second, by=adam, coverage="collections",
                           collections=[studio_catalogue["collection"]], **OFFER)
    assert licence_make_offer(licence=second, by=adam, coverage="catalogue", **OFFER).state == "upgrade_offered"


@pytest.mark.django_db
def test_a_declined_exclusive_offer_frees_its_works(studio_catalogue, org_a, org_b, alice, bob, adam):
    first = upgrade_requested(org_a, alice)
    licence_make_offer(licence=first, by=adam, coverage="catalogue", exclusive=True, **OFFER)
    licence_decline_upgrade(licence=first, by=adam, reason="Changed our minds")
    other = research_licence(organisation=org_b, applicant=bob)
    assert len(granted(build(other, bob, size=100))) == 16


@pytest.mark.django_db
def test_an_exclusive_offer_is_refused_when_another_licence_already_holds_the_works(
        studio_catalogue, org_a, org_b, alice, bob, adam):
    holder = research_licence(organisation=org_b, applicant=bob, project_title="Early bird")
    build(holder, bob, size=100, kind="video")
    deal = upgrade_requested(org_a, alice)
    with pytest.raises(LicenceActionRefused, match=(
            rf"^Cannot make the offer exclusive: it conflicts with licence #{holder.pk} \(Early bird, Blue Models\), "
            "which was already granted some of these works.$")):
        licence_make_offer(licence=deal, by=adam, coverage="collections",
                           collections=[studio_catalogue["collection"]], exclusive=True, **OFFER)


@pytest.mark.django_db
def test_once_paid_a_whole_collection_deal_is_one_slice_of_the_whole_collection_without_a_size_cap(
        studio_catalogue, org_a, alice, adam, django_capture_on_commit_callbacks):
    deal = upgrade_requested(org_a, alice)
    licence_make_offer(licence=deal, by=adam, coverage="collections", collections=[studio_catalogue["collection"]],
                       exclusive=True, max_assets=2, **OFFER)
    licence_accept_offer(licence=deal, by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        licence_record_payment(licence=deal, by=None, reference="WIRE-1")

    slices = list(Slice.objects.filter(licence=deal))
    assert len(slices) == 1
    whole = slices[0]
    assert (whole.status, whole.phase, whole.asset_count) == ("ready", "commercial", 6)
    assert granted(whole) == {f.pk for f in studio_catalogue["films"]}
    assert "Every work of the collections" in whole.describe_selection()
    deal.refresh_from_db()
    assert (deal.used_slices, deal.used_assets) == (1, 6)
    table = exclusivity_table()
    assert [licence.pk for licence in table["licences"]] == [deal.pk]
    assert [row["cells"] for row in table["rows"]] == [["exclusive"]]


@pytest.mark.django_db
def test_a_custom_model_deal_is_an_odrl_product_constraint_the_validator_accepts(studio_catalogue, org_a, alice,
                                                                                  adam, tmp_path):
    deal = upgrade_requested(org_a, alice)
    licence_make_offer(licence=deal, by=adam, coverage="collections", collections=[studio_catalogue["collection"]],
                       exclusive=True, custom_model="Lighthouse Gen-1", **OFFER)
    policy = licence_offer_terms(deal, base_url="https://tessera.example")
    constraint = [c for c in policy["permission"][0]["constraint"] if c["leftOperand"] == "product"]
    assert constraint == [{"leftOperand": "product", "operator": "eq", "dct:title": "Lighthouse Gen-1",
                           "rightOperand": {"@id": f"https://tessera.example/licences/{deal.pk}/models/lighthouse-gen-1"}}]
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(policy))
    result = subprocess.run([sys.executable, str(VALIDATOR), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_offer_form_takes_coverage_collections_and_exclusivity(studio_catalogue, org_a, alice, adam, client_for):
    deal = upgrade_requested(org_a, alice)
    data = {"make_offer-version": deal.version, "make_offer-fee": "1000", "make_offer-currency": "EUR",
            "make_offer-billing_period": "one_off", "make_offer-term_months": "12", "make_offer-scope": "Films",
            "make_offer-territory": "Worldwide", "make_offer-coverage": "collections"}
    client = client_for(adam)
    refused = client.post(f"/licences/{deal.pk}/make_offer/", data)
    assert refused.status_code == 400 and "Choose the collections the offer covers." in refused.content.decode()
    data.update({"make_offer-collections": [studio_catalogue["collection"].pk], "make_offer-exclusive": "on"})
    assert client.post(f"/licences/{deal.pk}/make_offer/", data).status_code == 302
    deal.refresh_from_db()
    assert (deal.state, deal.offer_coverage, deal.offer_exclusive) == ("upgrade_offered", "collections", True)
    assert list(deal.offer_collections.all()) == [studio_catalogue["collection"]]
    page = client.get(f"/licences/{deal.pk}/").content.decode()
    assert "Lighthouse films" in page and "exclusive" in page
    assert client.get("/catalogue/exclusivity/").status_code == 200
    assert client_for(alice).get("/catalogue/exclusivity/").status_code == 403
