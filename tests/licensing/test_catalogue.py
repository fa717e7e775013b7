"""The catalogue browser: who may browse, facets whose counts follow the filters, keyset pages,
search, a work's page, and the slice preview that shows what a request would grant."""
import html
import re

import pytest

from licensing.models import Asset, SliceItem
from licensing.selectors import catalogue as catalogue_selectors
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import ContributorFactory, catalogue, research_licence

pytestmark = pytest.mark.django_db


def text_of(response):
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def words_of(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(response.content.decode())))


def work_ids(response):
    return [int(n) for n in re.findall(r'href="/catalogue/(\d+)/" class="tile-link"', response.content.decode())]


@pytest.fixture
def licensed(org_a, alice):
    return research_licence(organisation=org_a, applicant=alice)


def test_the_catalogue_opens_to_applicants_with_an_active_licence_and_to_staff(client_for, alice, bob, rita, licensed):
    catalogue(3)
    assert client_for(rita).get("/catalogue/").status_code == 200
    assert client_for(alice).get("/catalogue/").status_code == 200
    refused = client_for(bob).get("/catalogue/")
    assert refused.status_code == 403
    assert "once a research licence is approved" in text_of(refused)


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/catalogue/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_pages_are_keyset_pages_newest_first_that_neither_repeat_nor_skip(client_for, alice, licensed):
    catalogue(60)
    client = client_for(alice)
    first = client.get("/catalogue/")
    ids = work_ids(first)
    assert len(ids) == 48 and ids == sorted(ids, reverse=True)
    after = re.search(r'href="\?after=(\d+)" rel="next"', first.content.decode()).group(1)
    second = client.get(f"/catalogue/?after={after}")
    more = work_ids(second)
    assert len(more) == 12 and max(more) < min(ids)
    assert set(ids) | set(more) == set(Asset.objects.values_list("pk", flat=True))
    before = re.search(r'href="\?before=(\d+)" rel="prev"', second.content.decode()).group(1)
    assert work_ids(client.get(f"/catalogue/?before={before}")) == ids


def test_facet_counts_say_what_each_choice_would_give_with_the_other_filters(client_for, alice, licensed):
    contributor = ContributorFactory()
    catalogue(5, contributor=contributor, tags=["harbour"], width=640, height=480)
    catalogue(3, contributor=contributor, tags=["harbour", "snow"], width=1920, height=1080)
    catalogue(2, contributor=contributor, kind="video", tags=["snow"], duration_seconds=30, width=1280, height=720,
              mime_type="video/mp4")
    client = client_for(alice)
    everything = text_of(client.get("/catalogue/"))
    assert "10 works in the catalogue" in everything
    assert re.search(r"Images <small[^>]*>8</small></a>", everything)
    assert re.search(r"Videos <small[^>]*>2</small></a>", everything)
    snowy = text_of(client.get("/catalogue/?tags=snow"))
    assert "5 works match your filters" in snowy
    # Kind counts follow the tag filter; the tag facet itself still offers the other tags.
    assert re.search(r"Images <small[^>]*>3</small></a>", snowy)
    assert re.search(r"harbour <small[^>]*>8</small></a>", snowy)
    full_hd = text_of(client.get("/catalogue/?resolution=fhd"))
    assert "3 works match your filters" in full_hd
    images = text_of(client.get("/catalogue/?kind=image"))
    assert "Video duration" not in images
    assert "10 seconds to 1 minute" in text_of(client.get("/catalogue/?kind=video"))


def test_search_finds_words_in_titles_and_tags(client_for, alice, licensed):
    catalogue(2, title="Harbour at dawn", tags=["sea"])
    catalogue(1, title="Market day", tags=["harbour"])
    catalogue(4, title="Forest", tags=["trees"])
    client = client_for(alice)
    assert len(work_ids(client.get("/catalogue/?q=harbour"))) == 3
    assert len(work_ids(client.get("/catalogue/?q=HARBOUR+dawn"))) == 2
    assert work_ids(client.get("/catalogue/?q=nothing-like-it")) == []


def test_large_counts_are_the_planners_estimate_and_say_so(client_for, alice, licensed, monkeypatch):
    catalogue(30)
    monkeypatch.setattr(catalogue_selectors, "COUNT_EXACT_UP_TO", 10)
    page = text_of(client_for(alice).get("/catalogue/"))
    assert re.search(r"about [\d,]+ works in the catalogue", page)


@pytest.mark.parametrize("query", ["?after=abc", "?kind=sculpture", "?resolution=%3Cscript%3E", "?before=-3",
                                   "?tags=" + "x" * 500, "?q=" + "%27%22" * 100, "?after=99999999999999999999"])
def test_no_query_string_makes_an_error_page(client_for, alice, licensed, query):
    catalogue(3)
    assert client_for(alice).get("/catalogue/" + query).status_code == 200


def test_a_work_page_says_whether_the_viewers_licence_holds_it_could_or_cannot(client_for, alice, licensed):
    shy = ContributorFactory(public_profile=False)
    named = ContributorFactory(display_name="Rosa Moreau", public_profile=True)
    granted = catalogue(1, contributor=named)[0]
    free = catalogue(1, contributor=shy)[0]
    slice_ = slice_request(licence=licensed, by=alice, size=1, seed=1)
    slice_build(slice_id=slice_.pk)
    assert SliceItem.objects.get(slice=slice_).asset_id in (granted.pk, free.pk)
    held = SliceItem.objects.get(slice=slice_).asset
    other = free if held == granted else granted
    client = client_for(alice)
    page = words_of(client.get(f"/catalogue/{held.pk}/"))
    assert "Granted in slice 1" in page
    assert "Available A new slice" in words_of(client.get(f"/catalogue/{other.pk}/"))
    contributor_set_opt_out(contributor=other.contributor, opted_out=True, by=None, note="")
    assert "Not available The contributor opted out" in words_of(client.get(f"/catalogue/{other.pk}/"))
    assert "Rosa Moreau" in words_of(client.get(f"/catalogue/{granted.pk}/"))
    assert shy.display_name not in words_of(client.get(f"/catalogue/{free.pk}/"))
    assert client.get("/catalogue/99999999/").status_code == 404


# The slice preview


def preview(client, licence, **fields):
    return client.get(f"/licences/{licence.pk}/slices/preview/", {f"slice-{k}": v for k, v in fields.items()},
                      HTTP_HX_REQUEST="true")


def test_the_preview_shows_the_works_the_request_then_grants_with_the_same_seed(client_for, alice, licensed):
    catalogue(40, kind="image")
    client = client_for(alice)
    shown = preview(client, licensed, size=20, kind="image", seed=4242)
    assert shown.status_code == 200
    sample = [int(n) for n in re.findall(r'href="/catalogue/(\d+)/"', shown.content.decode())]
    assert len(sample) == 12
    assert "40 works available" in text_of(shown)
    slice_ = slice_request(licence=licensed, by=alice, size=20, kind="image", seed=4242)
    slice_build(slice_id=slice_.pk)
    built = list(SliceItem.objects.filter(slice=slice_).order_by("position").values_list("asset_id", flat=True))
    assert built[:12] == sample
    # What is granted is no longer available to this licence.
    assert "20 works available" in text_of(preview(client, licensed, size=5, seed=4242))


def test_the_preview_counts_matches_and_what_remains_available_after_opt_outs(client_for, alice, licensed):
    leaving = ContributorFactory()
    catalogue(6, contributor=leaving)
    catalogue(4)
    contributor_set_opt_out(contributor=leaving, opted_out=True, by=None, note="")
    page = text_of(preview(client_for(alice), licensed, size=3, seed=1))
    assert "4 works available" in page and "of 10 matching these filters" in page
    assert "The slice would hold 3 works" in page


def test_without_a_seed_the_preview_picks_one_and_puts_it_in_the_form(client_for, alice, licensed):
    catalogue(5)
    body = preview(client_for(alice), licensed, size=3).content.decode()
    assert 'hx-swap-oob="true"' in body
    assert re.search(r'name="slice-seed" value="\d+"', body)


def test_the_preview_explains_a_refused_request_and_is_closed_to_other_organisations(client_for, alice, bob, licensed):
    catalogue(3)
    refused = preview(client_for(alice), licensed, size=3, kind="image", min_duration=5)
    assert refused.status_code == 200 and "durations apply to videos only" in text_of(refused).lower()
    assert preview(client_for(alice), licensed, size="lots").status_code == 200
    assert preview(client_for(bob), licensed, size=3).status_code == 404


def test_a_ready_slice_page_shows_its_works_with_withdrawn_ones_marked(client_for, alice, licensed):
    leaving = ContributorFactory()
    catalogue(3, contributor=leaving)
    catalogue(3)
    slice_ = slice_request(licence=licensed, by=alice, size=6, seed=9)
    slice_build(slice_id=slice_.pk)
    contributor_set_opt_out(contributor=leaving, opted_out=True, by=None, note="")
    page = text_of(client_for(alice).get(f"/slices/{slice_.pk}/"))
    assert "Works in this slice" in page
    assert page.count('class="tile-link"') == 6
    assert "3 withdrawn" in page and page.count(">Withdrawn</span>") == 3
