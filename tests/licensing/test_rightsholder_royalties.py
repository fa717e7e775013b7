"""Royalties of works with several rightsholders: split by their shares, to the cent, organisations included."""
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Membership
from licensing.models import (
    Asset,
    Contributor,
    RoyaltyEntry,
    RoyaltyPayout,
    RoyaltyPeriod,
)
from licensing.services.collections import CollectionRefused, rightsholders_set
from licensing.services.royalties import royalty_payouts_prepare, royalty_pool_create
from tests.conftest import make_organisation, make_user
from tests.licensing.test_royalties import (
    asset_rows,
    grant_directly,
    make_contributor,
    make_works,
    pay,
    research_licence,
)


def credited(pool):
    rows = RoyaltyEntry.objects.filter(pool=pool).values("contributor_id", "organisation_id").annotate(
        total=Sum("amount"))
    return {(row["contributor_id"], row["organisation_id"]): row["total"] for row in rows}


@pytest.mark.django_db
def test_a_work_with_rightsholders_splits_its_share_between_them_and_others_stay_as_they_were(org_a, alice):
    studio = make_organisation("Lighthouse Films", kind="studio")
    director, photographer = make_contributor("Dora"), make_contributor("Pia")
    film = make_works(director, videos=1)[0]
    photos = make_works(photographer, images=5)
    rightsholders_set(asset=film, by=None, shares=[(studio, 7000), (director, 3000)])
    licence = research_licence(org_a, alice)
    grant_directly(licence, [film, *photos])
    _, payment = pay(licence, Decimal("100.00"))  # a pool of 20.00: the film weighs 5, the photos 1 each

    shares = credited(royalty_pool_create(payment_id=payment.pk))

    assert shares == {(None, studio.pk): Decimal("7.00"), (director.pk, None): Decimal("3.00"),
                      (photographer.pk, None): Decimal("10.00")}


@pytest.mark.django_db
def test_shares_that_do_not_add_to_a_hundred_percent_are_refused_naming_the_work(org_a):
    studio = make_organisation("Lighthouse Films", kind="studio")
    director = make_contributor("Dora")
    film = make_works(director, videos=1)[0]
    film.external_id = "F-7"
    film.save()
    with pytest.raises(CollectionRefused, match=r"^The rightsholders' shares of work F-7 add to 90%, not 100%\.$"):
        rightsholders_set(asset=film, by=None, shares=[(studio, 6000), (director, 3000)])
    with pytest.raises(CollectionRefused, match="listed twice"):
        rightsholders_set(asset=film, by=None, shares=[(director, 5000), (director, 5000)])
    assert not film.rightsholders.exists()


@pytest.mark.django_db
def test_an_organisation_is_paid_out_like_a_contributor_and_sees_its_royalties(org_a, alice, client_for):
    studio = make_organisation("Lighthouse Films", kind="studio")
    owner = make_user("owner@lighthouse.example", organisation=studio, role=Membership.Role.OWNER)
    director = make_contributor("Dora")
    film = make_works(director, videos=1)[0]
    rightsholders_set(asset=film, by=None, shares=[(studio, 5000), (director, 5000)])
    licence = research_licence(org_a, alice)
    grant_directly(licence, [film])
    _, payment = pay(licence, Decimal("10.00"))
    pool = royalty_pool_create(payment_id=payment.pk)
    entry = RoyaltyEntry.objects.get(pool=pool, organisation=studio)
    period = RoyaltyPeriod.objects.create(month=entry.created_at.date().replace(day=1, year=entry.created_at.year + 1))
    assert royalty_payouts_prepare(period=period) == 2
    payout = RoyaltyPayout.objects.get(organisation=studio)
    assert (payout.amount, payout.contributor_id) == (Decimal("1.00"), None)
    assert payout.reference.endswith(f"ORG{studio.pk}-EUR")

    page = client_for(owner).get("/rightsholder/royalties/")
    assert page.status_code == 200
    assert "Lighthouse Films" in page.content.decode() and "1.00" in page.content.decode()


works = st.lists(
    st.tuples(st.booleans(), st.lists(st.integers(1, 97), min_size=0, max_size=4)), min_size=1, max_size=5)


@pytest.mark.django_db
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(works=works, net_cents=st.integers(min_value=1, max_value=20_000_000))
def test_cents_add_up_whatever_the_shares(org_a, alice, works, net_cents):
    with transaction.atomic():
        studios = [make_organisation(f"Studio {n}", kind="studio") for n in range(2)]
        people = list(Contributor.objects.bulk_create(Contributor(display_name=f"C{n}") for n in range(4)))
        assets = []
        for n, (is_video, cuts) in enumerate(works):
            asset = Asset.objects.bulk_create(asset_rows(people[n % 4], images=0 if is_video else 1,
                                                         videos=1 if is_video else 0))[0]
            parties = [*studios, *people]
            points = sorted({c * 100 for c in cuts if 0 < c * 100 < 10_000})
            bounds = [0, *points, 10_000]
            shares = [(parties[i % len(parties)], b - a) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
            if len(shares) > 1:
                rightsholders_set(asset=asset, by=None, shares=shares)
            assets.append(asset)
        licence = research_licence(org_a, alice)
        grant_directly(licence, assets)
        _, payment = pay(licence, Decimal(net_cents) / 100)
        pool = royalty_pool_create(payment_id=payment.pk)
        shares = credited(pool)
        assert sum(shares.values(), Decimal("0")) == pool.amount
        assert all(amount > 0 for amount in shares.values())
        transaction.set_rollback(True)
