"""A pipeline requests a slice through the API, polls it, reads its items and manifest, and is told
plainly when it asks for too much, asks wrongly, or asks too often."""
import pytest

from licensing.models import AuditEvent, Licence, Slice
from tests.api.conftest import error_of


def request_slice(api, key, licence, body, **headers):
    return api(key).post(f"/api/v1/licences/{licence.pk}/slices/", body, format="json", **headers)


def test_a_requested_slice_is_built_and_then_listed_polled_and_read(api, world_a, key_a,
                                                                    django_capture_on_commit_callbacks):
    key, plaintext = key_a
    with django_capture_on_commit_callbacks(execute=True):
        response = request_slice(api, plaintext, world_a.licence, {"size": 2, "kind": "image", "seed": 11})
    assert response.status_code == 202
    requested = response.json()
    assert requested["status"] == "queued"
    assert requested["number"] == 2
    assert requested["filters"] == {"kind": "image"}
    assert requested["seed"] == 11

    polled = api(plaintext).get(requested["links"]["self"])
    assert polled.status_code == 200
    assert polled.json()["status"] == "ready"
    assert polled.json()["asset_count"] == 2
    assert polled.json()["progress"] == 100

    items = api(plaintext).get(requested["links"]["items"]).json()["results"]
    assert len(items) == 2
    # A new slice never repeats an asset the licence was already granted.
    assert not {item["asset_id"] for item in items} & set(world_a.slice.items.values_list("asset_id", flat=True))

    listed = api(plaintext).get(f"/api/v1/licences/{world_a.licence.pk}/slices/").json()["results"]
    assert [s["id"] for s in listed] == [requested["id"], world_a.slice.pk]

    licence = api(plaintext).get(f"/api/v1/licences/{world_a.licence.pk}/").json()
    assert licence["usage"]["slices"] == 2
    assert licence["usage"]["assets"] == 5
    assert licence["remaining"]["assets"] == 95

    event = AuditEvent.objects.get(action="slice.request", target_id=str(requested["id"]))
    assert event.api_key == key
    assert event.actor is None
    assert event.organisation == world_a.org
    assert event.payload == {"size": 2, "seed": 11, "filters": {"kind": "image"}}


@pytest.mark.parametrize("body, fields", [
    ({}, {"size": ["This field is required."]}),
    ({"size": 0}, {"size": ["Ensure this value is greater than or equal to 1."]}),
    ({"size": 2, "kind": "audio"}, {"kind": ['"audio" is not a valid choice.']}),
    ({"size": 2, "kind": "image", "min_duration": 3}, {"kind": ["Durations apply to videos only."]}),
    ({"size": 2, "min_duration": 9, "max_duration": 3}, {"max_duration": ["Must be at least min_duration."]}),
])
def test_it_names_the_fields_that_are_wrong(api, world_a, key_a, body, fields):
    response = request_slice(api, key_a[1], world_a.licence, body)
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid", "message": "Some fields are invalid: see fields.",
                                  "fields": fields}
    assert Slice.objects.filter(licence=world_a.licence).count() == 1
    assert not AuditEvent.objects.filter(action="slice.request", api_key=key_a[0]).exists()


def test_it_refuses_a_slice_over_the_caps_and_says_what_remains(api, world_a, key_a):
    response = request_slice(api, key_a[1], world_a.licence, {"size": 98})
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "slice_refused",
        "message": "You asked for 98 assets but only 97 remain under this licence's cap of 100.",
        "fields": {},
    }
    assert Slice.objects.filter(licence=world_a.licence).count() == 1
    assert Licence.objects.get(pk=world_a.licence.pk).used_assets == 3
    assert not AuditEvent.objects.filter(action="slice.request", api_key=key_a[0]).exists()


def test_it_refuses_a_slice_of_a_licence_that_is_not_active(api, world_a, key_a):
    Licence.objects.filter(pk=world_a.licence.pk).update(state="suspended")
    response = request_slice(api, key_a[1], world_a.licence, {"size": 1})
    assert response.status_code == 422
    assert error_of(response)["message"] == (
        "Slices can be requested only while the licence is active; it is suspended.")
    assert Slice.objects.filter(licence=world_a.licence).count() == 1


def test_a_manifest_waits_for_the_slice_to_be_ready(api, world_a, key_a):
    response = request_slice(api, key_a[1], world_a.licence, {"size": 1})
    queued = response.json()
    assert queued["status"] == "queued"  # its build job waits for the commit, which never comes here
    manifest = api(key_a[1]).get(queued["links"]["manifest_jsonl"])
    assert manifest.status_code == 409
    assert error_of(manifest) == {
        "code": "not_ready",
        "message": "Slice 2 is queued: its manifest exists once it is ready.",
        "fields": {},
    }


def test_it_names_the_manifest_formats_it_has(api, world_a, key_a):
    response = api(key_a[1]).get(f"/api/v1/slices/{world_a.slice.pk}/manifest.parquet")
    assert response.status_code == 404
    assert error_of(response)["message"] == (
        "Manifests come as manifest.jsonl, manifest.csv, croissant.json, README.md.")


def test_it_filters_licences_by_state(api, world_a, key_a):
    response = api(key_a[1]).get("/api/v1/licences/?state=research_active")
    assert [licence["id"] for licence in response.json()["results"]] == [world_a.licence.pk]
    response = api(key_a[1]).get("/api/v1/licences/?state=commercial_active")
    assert response.json()["results"] == []


def test_it_slows_down_a_key_that_asks_too_often(api, world_a, key_a, make_key, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api-read": "1000/min", "api-write": "2/min"}}
    for _ in range(2):
        assert request_slice(api, key_a[1], world_a.licence, {"size": 1}).status_code == 202
    response = request_slice(api, key_a[1], world_a.licence, {"size": 1})
    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "throttled"
    assert error["message"].startswith("Too many requests for this key: try again in ")
    assert int(response["Retry-After"]) > 0
    assert Slice.objects.filter(licence=world_a.licence).count() == 3
    # Reads have their own budget, and another key of the organisation its own.
    assert api(key_a[1]).get(f"/api/v1/licences/{world_a.licence.pk}/slices/").status_code == 200
    _, other_key = make_key(world_a.org)
    assert request_slice(api, other_key, world_a.licence, {"size": 1}).status_code == 202


def test_the_items_api_and_the_jsonl_manifest_list_each_item_alike_withdrawn_ones_included(api, world_a, key_a):
    import json
    from datetime import datetime

    from django.utils import timezone

    from licensing.models import SliceItem

    key, plaintext = key_a
    slice_ = world_a.slice
    first = SliceItem.objects.filter(slice=slice_).order_by("position").first()
    SliceItem.objects.filter(pk=first.pk).update(withdrawn_at=timezone.now())

    items = api(plaintext).get(f"/api/v1/slices/{slice_.pk}/items/").json()["results"]
    manifest = api(plaintext).get(f"/api/v1/slices/{slice_.pk}/manifest.jsonl")
    lines = [json.loads(line) for line in b"".join(manifest.streaming_content).decode().splitlines()]

    def alike(item):
        """The item as a pipeline reads it: links are signed per request, timestamps spelt per format."""
        return {**{k: v for k, v in item.items() if k != "position"},
                "withdrawn_at": item["withdrawn_at"] and datetime.fromisoformat(item["withdrawn_at"]),
                "download_url": item["download_url"].rsplit("/assets/", 1)[1]}

    assert [alike(item) for item in items] == [alike(line) for line in lines]
    assert items[0]["withdrawn"] is True and items[0]["download_url"].endswith(f"/assets/{first.asset_id}")


@pytest.mark.parametrize("filters", [
    {}, {"kind": "image"}, {"kind": "video", "min_width": 1920, "min_height": 1080, "min_duration": 2.5,
                            "max_duration": 60}, {"tags": ["harbour", "night"]}, {"min_duration": 3}])
def test_a_slice_reads_as_its_serializer_s_fields_would_write_it(world_a, filters):
    from django.utils import timezone

    from licensing.api.serializers import SliceSerializer

    slice_ = world_a.slice
    for started, failure in ((None, ""), (timezone.now(), "The licence became suspended before the slice was built.")):
        Slice.objects.filter(pk=slice_.pk).update(filters=filters, started_at=started, failure_reason=failure)
        slice_.refresh_from_db()
        serializer = SliceSerializer(slice_)
        assert serializer.data == serializer.fields_representation(slice_)
        assert list(serializer.data) == list(serializer.fields_representation(slice_))
        assert list(serializer.data["filters"]) == list(serializer.fields_representation(slice_)["filters"])
