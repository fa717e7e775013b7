"""The staff dashboard's charts, the home page, and the contributor's works with their use and earnings."""
import re

import pytest
from django.utils import timezone

from licensing.models import AssetPreview
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.conftest import make_user
from tests.licensing.factories import ContributorFactory, catalogue, research_licence
from tests.licensing.test_royalties import credit

pytestmark = pytest.mark.django_db


def test_the_dashboard_draws_each_chart_as_svg_with_its_numbers_in_a_table(client_for, rita, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(7)
    slice_ = slice_request(licence=licence, by=alice, size=7, seed=1)
    slice_build(slice_id=slice_.pk)
    page = client_for(rita).get("/staff/").content.decode()
    for chart in ("applications", "grants", "revenue", "opt-outs"):
        figure = page.split(f'id="chart-{chart}"')[1].split("</figure>")[0]
        assert "<svg" in figure and 'aria-hidden="true"' in figure
        assert "<table>" in figure and "<caption" in figure
    grants = page.split('id="chart-grants"')[1].split("</figure>")[0]
    this_month = f"{timezone.now():%b %Y}"
    assert re.search(rf'<th scope="row">{this_month}</th><td>7</td><td>1</td>', grants)
    assert "<script" not in page.split("<main")[1].split("</main>")[0]


def test_the_dashboard_is_for_licensor_staff(client_for, alice):
    assert client_for(alice).get("/staff/").status_code == 403


def test_the_home_page_explains_the_phases_and_shows_numbers_and_sample_works(client):
    contributor = ContributorFactory()
    works = catalogue(3, contributor=contributor)
    AssetPreview.objects.create(asset=works[0], status="ready", colour="#123456", thumbnail_key="x/thumb.jpg",
                                thumbnail_width=320, thumbnail_height=240, made_at=timezone.now())
    catalogue(2, kind="video", duration_seconds=1800)
    leaving = ContributorFactory()
    contributor_set_opt_out(contributor=leaving, opted_out=True, by=None, note="")
    page = re.sub(r"\s+", " ", client.get("/").content.decode())
    assert "<h1>Tessera</h1>" not in page
    assert "Two phases, one licence" in page and "Research licence" in page and "Go commercial" in page
    assert "<strong>3</strong> images" in page and "<strong>2</strong> videos, 1.0 h" in page
    assert "Our promise to contributors" in page and "20% of what licensees pay" in page
    assert "1 of 3 contributors has opted out" in page
    assert page.count('<li class="tile') == 1 and f"/previews/{works[0].pk}/thumb.jpg" in page


def test_my_works_show_thumbnails_with_their_licences_and_earnings(client, org_a, alice):
    contributor = ContributorFactory(user=make_user("pia@photos.example"))
    catalogue(3, contributor=contributor)
    catalogue(2, contributor=contributor, kind="video", duration_seconds=4, mime_type="video/mp4")
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_ = slice_request(licence=licence, by=alice, size=5, seed=2)
    slice_build(slice_id=slice_.pk)
    credit(contributor, licence, "13.00", timezone.now())  # images weigh 1, videos 5: 3 + 10 = 13 shares
    client.force_login(contributor.user)
    page = client.get("/contributor/works/").content.decode()
    assert page.count('class="thumb"') == 5
    assert page.count("1 licence") == 5
    assert page.count("≈ 1.00 EUR") == 3 and page.count("≈ 5.00 EUR") == 2
