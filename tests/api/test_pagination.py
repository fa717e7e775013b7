"""Cursor pagination: a pipeline paging through a licence's slices while new ones are requested
sees each of the original slices exactly once."""
import base64

import pytest

from licensing.services.slices import slice_request
from tests.api.conftest import error_of


def request_slices(licence, by, count):
    return [slice_request(licence=licence, by=by, size=1).pk for _ in range(count)]


def test_pages_stay_stable_while_new_slices_appear(api, world_a, key_a):
    client = api(key_a[1])
    originals = [world_a.slice.pk] + request_slices(world_a.licence, world_a.owner, 6)  # 7 slices

    page = client.get(f"/api/v1/licences/{world_a.licence.pk}/slices/?page_size=2").json()
    assert page["previous"] is None
    seen = [s["id"] for s in page["results"]]
    assert seen == sorted(originals, reverse=True)[:2]

    # Newer slices appear between the pages, twice.
    newer = request_slices(world_a.licence, world_a.owner, 3)
    pages = 1
    while page["next"]:
        assert "page_size=2" in page["next"]
        page = client.get(page["next"]).json()
        seen += [s["id"] for s in page["results"]]
        pages += 1
        if pages == 2:
            newer += request_slices(world_a.licence, world_a.owner, 2)

    assert seen == sorted(originals, reverse=True)  # newest first, no duplicates, no gaps
    assert not set(seen) & set(newer)
    assert pages == 4

    # The first page, asked again, starts with the newest.
    fresh = client.get(f"/api/v1/licences/{world_a.licence.pk}/slices/?page_size=2").json()
    assert [s["id"] for s in fresh["results"]] == sorted(newer, reverse=True)[:2]


def test_going_back_returns_the_same_page(api, world_a, key_a):
    client = api(key_a[1])
    request_slices(world_a.licence, world_a.owner, 4)
    first = client.get(f"/api/v1/licences/{world_a.licence.pk}/slices/?page_size=2").json()
    second = client.get(first["next"]).json()
    request_slices(world_a.licence, world_a.owner, 1)
    back = client.get(second["previous"]).json()
    assert [s["id"] for s in back["results"]] == [s["id"] for s in first["results"]]


def test_page_size_is_capped(api, world_a, key_a):
    request_slices(world_a.licence, world_a.owner, 3)
    response = api(key_a[1]).get(f"/api/v1/licences/{world_a.licence.pk}/slices/?page_size=0")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 4  # an invalid size falls back to the default of 50


def cursor(query):
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize("value", ["not-base64-at-all!", cursor("p=abc"), cursor("o=x"), cursor("p=1.5&r=1")])
@pytest.mark.parametrize("path", ["/api/v1/licences/{licence}/slices/", "/api/v1/licences/",
                                  "/api/v1/invoices/", "/api/v1/slices/{slice}/items/"])
def test_a_tampered_cursor_is_a_400_that_says_to_follow_the_links(api, world_a, key_a, path, value):
    url = path.format(licence=world_a.licence.pk, slice=world_a.slice.pk)
    response = api(key_a[1]).get(url, {"cursor": value})
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_cursor", "fields": {}, "message": (
        "This cursor is not one Tessera gave out: follow the `next` or `previous` link of a page "
        "instead of building or editing cursors.")}


def test_a_cursor_past_every_id_is_answered_not_crashed_on(api, world_a, key_a):
    response = api(key_a[1]).get(f"/api/v1/licences/{world_a.licence.pk}/slices/", {"cursor": cursor("p=" + "9" * 30)})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [world_a.slice.pk]
