"""The contributor portal: my works, where they were used, earnings, statements, and the AI-training choice."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Max, Min
from django.utils import timezone

from licensing.models import ContributorConsentChange, SliceItem
from licensing.selectors.contributors import works_used
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.conftest import make_user
from tests.licensing.test_royalties import (
    commercial_licence,
    credit,
    make_contributor,
    make_works,
    research_licence,
)

pytestmark = pytest.mark.django_db

PORTAL_PAGES = ["/contributor/", "/contributor/works/", "/contributor/earnings/", "/contributor/where-used/",
                "/contributor/ai-training/", "/contributor/ai-training/opt-out/",
                f"/contributor/statements/{timezone.now():%Y-%m}/",
                f"/contributor/statements/{timezone.now():%Y-%m}/statement.csv"]


def build(licence, by, size, **filters):
    slice_ = slice_request(licence=licence, by=by, size=size, **filters)
    slice_build(slice_id=slice_.pk)
    slice_.refresh_from_db()
    assert slice_.status == "ready", slice_.failure_reason
    return slice_


def contributors_in(slice_):
    return set(SliceItem.objects.filter(slice=slice_).values_list("asset__contributor__display_name", flat=True))


@pytest.fixture
def pia(db):
    """A photographer with a login."""
    contributor = make_contributor("Pia Photographer", user=make_user("pia@photos.example"))
    make_works(contributor, images=6, title="Harbour")
    return contributor


@pytest.fixture
def ola(db):
    contributor = make_contributor("Ola Filmmaker", user=make_user("ola@films.example"))
    make_works(contributor, images=2, videos=2, title="Forest")
    return contributor


@pytest.fixture
def granted(pia, ola, org_a, org_b, alice, bob):
    """Acme's research licence was granted everything; Blue's commercial licence five images."""
    acme, blue = research_licence(org_a, alice), commercial_licence(org_b, bob)
    return {"acme": acme, "blue": blue, "acme_slice": build(acme, alice, 100),
            "blue_slice": build(blue, bob, 5, kind="image", seed=7)}


def test_a_contributor_opting_out_leaves_new_slices_withdraws_research_and_keeps_commercial(
        client, pia, ola, granted, alice, bob):
    acme, blue = granted["acme"], granted["blue"]
    pia_in_blue = SliceItem.objects.filter(slice=granted["blue_slice"], asset__contributor=pia).count()
    assert pia_in_blue > 0 and "Pia Photographer" in contributors_in(granted["acme_slice"])
    client.force_login(pia.user)

    confirm = client.get("/contributor/ai-training/opt-out/").content.decode()
    assert "<strong>6</strong> of your works in <strong>1</strong> research licence" in confirm
    assert f"<strong>{pia_in_blue}</strong> of your works in <strong>1</strong> commercial licence" in confirm
    response = client.post("/contributor/ai-training/opt-out/", {"note": "Changed my mind"})
    assert response.status_code == 400, "nothing happens without the confirmation"
    pia.refresh_from_db()
    assert not pia.opted_out and not ContributorConsentChange.objects.exists()

    response = client.post("/contributor/ai-training/opt-out/", {"confirm": "on", "note": "Changed my mind"})

    assert response.status_code == 302
    pia.refresh_from_db()
    assert pia.opted_out
    research = SliceItem.objects.filter(slice=granted["acme_slice"])
    assert not research.filter(asset__contributor=pia, withdrawn_at__isnull=True).exists(), "research withdrawn"
    assert not research.filter(asset__contributor=ola, withdrawn_at__isnull=False).exists(), "others untouched"
    assert SliceItem.objects.filter(slice=granted["blue_slice"], asset__contributor=pia,
                                    withdrawn_at__isnull=True).count() == pia_in_blue, "commercial grants stand"
    change = ContributorConsentChange.objects.get()
    assert (change.contributor, change.opted_out, change.changed_by, change.note) == (pia, True, pia.user,
                                                                                       "Changed my mind")
    make_works(pia, images=3, title="Late")
    make_works(ola, images=3, title="Late")
    assert contributors_in(build(acme, alice, 100)) == {"Ola Filmmaker"}
    assert contributors_in(build(blue, bob, 100)) == {"Ola Filmmaker"}, "new commercial slices leave her out too"

    page = client.get("/contributor/ai-training/").content.decode()
    assert "Opted out of AI training" in page and "Changed my mind" in page
    response = client.post("/contributor/ai-training/opt-in/", {"confirm": "on"})
    assert response.status_code == 302
    pia.refresh_from_db()
    assert not pia.opted_out
    assert list(ContributorConsentChange.objects.values_list("opted_out", flat=True)) == [False, True]
    assert "Pia Photographer" in contributors_in(build(acme, alice, 100)), "opted back in: offered again"
    assert research.filter(asset__contributor=pia, withdrawn_at__isnull=True).count() == 0, \
        "works withdrawn earlier stay withdrawn"


def test_opting_out_twice_records_one_change(pia):
    assert contributor_set_opt_out(contributor=pia, opted_out=True, by=pia.user)
    assert not contributor_set_opt_out(contributor=pia, opted_out=True, by=pia.user)
    assert ContributorConsentChange.objects.count() == 1


def test_where_my_works_were_used_matches_the_slices(client, pia, granted, alice, org_a):
    make_works(pia, images=2, title="New")
    second_acme = build(granted["acme"], alice, 100, kind="image")
    contributor_set_opt_out(contributor=pia, opted_out=True, by=None)
    expected = {
        (row["licence_id"], row["slice__phase"]): row for row in
        SliceItem.objects.filter(asset__contributor=pia).values("licence_id", "slice__phase").annotate(
            n=Count("asset_id", distinct=True), first=Min("slice__finished_at"), last=Max("slice__finished_at"))
    }

    rows = works_used(contributor=pia)

    assert {(row["licence"].pk, row["phase"]): (row["assets"], row["first_granted"], row["last_granted"])
            for row in rows} == {key: (row["n"], row["first"], row["last"]) for key, row in expected.items()}
    acme_row = next(row for row in rows if row["licence"] == granted["acme"])
    assert (acme_row["assets"], acme_row["withdrawn"]) == (8, 8)
    assert acme_row["last_granted"] == second_acme.finished_at
    blue_row = next(row for row in rows if row["licence"] == granted["blue"])
    assert blue_row["purpose"] == "Train a commercial detector" and blue_row["withdrawn"] == 0
    assert acme_row["purpose"] == granted["acme"].intended_use

    client.force_login(pia.user)
    page = client.get("/contributor/where-used/").content.decode()
    assert page.count('<tr data-licence="') == len(expected)
    assert org_a.name in page and granted["blue"].organisation.name in page
    assert "Train a commercial detector" in page and "8 withdrawn after you opted out" in page


def test_my_works_are_paginated_and_filtered_by_kind_and_title(client, pia):
    make_works(pia, images=50, videos=3, title="Meadow")
    client.force_login(pia.user)

    first = client.get("/contributor/works/").content.decode()
    assert "Page 1 of 2" in first and first.count("<tr>") == 51  # header + 50 works
    videos = client.get("/contributor/works/?kind=video").content.decode()
    assert videos.count("Meadow clip") == 3 and "Meadow photo" not in videos and "Harbour" not in videos
    harbour = client.get("/contributor/works/?title=harbour").content.decode()
    assert harbour.count("Harbour photo") == 6 and "Meadow" not in harbour
    page_two = client.get("/contributor/works/?kind=image&page=2").content.decode()
    assert "Page 2 of 2" in page_two and "kind=image&amp;page=1" in page_two


def test_a_contributor_never_sees_another_contributors_earnings_or_statements(client, pia, ola, granted, bob):
    now = timezone.now()
    credit(pia, granted["acme"], "123.45", now)
    credit(ola, granted["acme"], "678.90", now)
    month = f"{now:%Y-%m}"

    client.force_login(ola.user)
    for url in ("/contributor/", "/contributor/earnings/", f"/contributor/statements/{month}/"):
        body = client.get(url).content.decode()
        assert "678.90" in body and "123.45" not in body and "Pia" not in body
    csv_body = b"".join(client.get(f"/contributor/statements/{month}/statement.csv").streaming_content).decode()
    assert "678.90" in csv_body and "123.45" not in csv_body

    client.force_login(bob)  # a licensee's owner, not a contributor
    for url in PORTAL_PAGES:
        assert client.get(url).status_code == 404, url
    client.logout()
    assert client.get("/contributor/earnings/").status_code == 302, "anonymous visitors are sent to log in"


def test_the_portal_pages_render_for_a_contributor(client, pia, granted):
    credit(pia, granted["blue"], "42.00", timezone.now())
    client.force_login(pia.user)
    for url in PORTAL_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    home = client.get("/").content.decode()
    assert 'href="/contributor/"' in home, "the home page and the navigation lead to the portal"
    overview = client.get("/contributor/").content.decode()
    assert "Offered for AI training" in overview and "42.00 earned" in overview
    future = timezone.now() + timedelta(days=40)
    assert client.get(f"/contributor/statements/{future:%Y-%m}/").status_code == 404
    assert client.get("/contributor/statements/last-year/").status_code == 404
    assert Decimal("42.00") == pia.royalties.get().amount
