"""Exclusivity on PostgreSQL: conflicting offers, and an offer racing another licence's slice build,
are decided one after the other under the exclusivity lock: exactly one wins."""
import pytest

from licensing.models import Licence, Slice, SliceItem
from licensing.services.collections import collection_create
from licensing.services.licences import licence_make_offer
from licensing.services.slices import SliceRefused, slice_build, slice_request
from licensing.workflow import LicenceActionRefused
from tests.conftest import make_organisation
from tests.licensing.factories import ContributorFactory, catalogue, research_licence
from tests.licensing.test_slice_jobs import run_at_once
from tests.licensing.test_studio_deals import OFFER, upgrade_requested

pytestmark = pytest.mark.django_db(transaction=True)


def films_collection():
    studio = make_organisation("Lighthouse Films", kind="studio")
    films = catalogue(8, contributor=ContributorFactory(), kind="video", duration_seconds=30.0, mime_type="video/mp4")
    for n, film in enumerate(films):
        film.external_id = f"F-{n}"
        film.save(update_fields=["external_id"])
    return collection_create(name="Films", by=None, owner_organisation=studio,
                             work_external_ids=[f.external_id for f in films]), films


def test_of_two_conflicting_exclusive_offers_racing_exactly_one_is_made(org_a, org_b, alice, bob, adam):
    collection, _ = films_collection()
    licences = [upgrade_requested(org_a, alice), upgrade_requested(org_b, bob)]

    results = run_at_once(2, lambda n: licence_make_offer(
        licence=licences[n], by=adam, coverage="collections", collections=[collection.pk], exclusive=True, **OFFER))

    made = [r for r in results if isinstance(r, Licence)]
    refused = [r for r in results if isinstance(r, LicenceActionRefused)]
    assert (len(made), len(refused)) == (1, 1), results
    assert f"conflicts with licence #{made[0].pk}" in str(refused[0])
    states = sorted(Licence.objects.filter(pk__in=[lic.pk for lic in licences]).values_list("state", flat=True))
    assert states == ["upgrade_offered", "upgrade_requested"]


@pytest.mark.parametrize("round_", range(3))
def test_an_exclusive_offer_racing_another_licences_slice_build_leaves_the_works_to_exactly_one(
        org_a, org_b, alice, bob, adam, round_):
    collection, films = films_collection()
    deal = upgrade_requested(org_a, alice)
    other = research_licence(organisation=org_b, applicant=bob, max_assets=100)

    def act(n):
        if n == 0:
            return licence_make_offer(licence=deal, by=adam, coverage="collections", collections=[collection.pk],
                                      exclusive=True, **OFFER)
        slice_ = slice_request(licence=other, by=bob, size=8, kind="video")
        return slice_build(slice_id=slice_.pk) or Slice.objects.get(pk=slice_.pk)

    offer, built = run_at_once(2, act)

    other_films = SliceItem.objects.filter(licence=other, asset__in=films).count()
    if isinstance(offer, Licence):  # the offer won: the build left the films out (and found nothing else)
        assert other_films == 0
        assert isinstance(built, (Slice, SliceRefused)) and Slice.objects.get(licence=other).status == "failed"
    else:  # the build won: the offer was refused, naming the licence that holds the films
        assert isinstance(offer, LicenceActionRefused), offer
        assert f"licence #{other.pk}" in str(offer)
        assert other_films == 8
        deal.refresh_from_db()
        assert deal.state == "upgrade_requested"
