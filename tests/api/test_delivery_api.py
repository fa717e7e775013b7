"""The delivery endpoints of the API: a slice's shard index, the withdrawals feed with its cursors, and
webhooks (register with the secret once, change, rotate, the delivery log, replay), for org A only."""
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import AuditEvent, Job, SliceItem, WebhookDelivery, WebhookEndpoint
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.delivery import slice_shards_write
from licensing.services.webhooks import webhook_emit
from tests.api.conftest import error_of


@pytest.fixture(autouse=True)
def loopback_endpoints_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_REQUIRE_HTTPS = True, False
    settings.WITHDRAWALS_FEED_SETTLE_SECONDS = 0


# --- Shards ------------------------------------------------------------------------

def test_the_shard_index_is_pending_then_lists_the_shards(api, world_a, key_a):
    client = api(key_a[1])
    pending = client.get(f"/api/v1/slices/{world_a.slice.pk}/shards/")
    assert pending.status_code == 200 and pending.json()["state"] == "pending"

    slice_shards_write(slice_id=world_a.slice.pk)
    index = client.get(f"/api/v1/slices/{world_a.slice.pk}/shards/").json()

    # The fixture's catalogue rows are metadata-only: nothing to put in a shard, and the index says so.
    assert index["state"] == "ready" and index["shards"] == []
    assert index["left_out"]["without_file"] == 3
    slice_body = client.get(f"/api/v1/slices/{world_a.slice.pk}/").json()
    assert slice_body["links"]["shards"] == f"http://testserver/api/v1/slices/{world_a.slice.pk}/shards/"


def test_another_organisations_shards_are_a_404_and_the_scope_is_needed(api, world_a, world_b, key_a, make_key):
    assert error_of(api(key_a[1]).get(f"/api/v1/slices/{world_b.slice.pk}/shards/"))["code"] == "not_found"
    _, invoices_only = make_key(world_a.org, ["invoices:read"])
    refused = api(invoices_only).get(f"/api/v1/slices/{world_a.slice.pk}/shards/")
    assert refused.status_code == 403 and "slices:read" in error_of(refused)["message"]


# --- Withdrawals feed ------------------------------------------------------------------

def withdraw(items, when):
    SliceItem.objects.filter(pk__in=[i.pk for i in items]).update(withdrawn_at=when, withdrawal_reason="opt_out")


def test_the_feed_pages_in_withdrawn_at_order_and_its_last_cursor_waits_for_news(api, world_a, key_a):
    client = api(key_a[1])
    items = list(SliceItem.objects.filter(slice=world_a.slice).order_by("position"))
    start = timezone.now() - timedelta(hours=1)
    withdraw(items[2:3], start)
    withdraw(items[0:2], start + timedelta(minutes=1))  # two at the same instant: ordered by id

    first = client.get(f"/api/v1/licences/{world_a.licence.pk}/withdrawals/?page_size=2").json()
    assert [r["asset_id"] for r in first["results"]] == [items[2].asset_id] + [min(i.asset_id for i in items[:2])]
    assert first["has_more"] is True
    assert first["results"][0] == {"asset_id": items[2].asset_id, "slice": world_a.slice.pk,
                                   "withdrawn_at": start.isoformat().replace("+00:00", "Z"), "reason": "opt_out"}
    second = client.get(first["next"]).json()
    assert [r["asset_id"] for r in second["results"]] == [max(i.asset_id for i in items[:2])]
    assert second["has_more"] is False

    quiet = client.get(second["next"]).json()
    assert quiet["results"] == [] and quiet["next"] == second["next"]


def test_an_opt_out_appears_in_the_feed_after_the_last_cursor(api, world_a, key_a):
    client = api(key_a[1])
    page = client.get(f"/api/v1/licences/{world_a.licence.pk}/withdrawals/").json()
    assert page["results"] == []

    item = SliceItem.objects.filter(slice=world_a.slice).select_related("asset__contributor").first()
    contributor_set_opt_out(contributor=item.asset.contributor, opted_out=True)

    news = client.get(page["next"]).json()
    assert {r["asset_id"] for r in news["results"]} == set(
        SliceItem.objects.filter(slice=world_a.slice).values_list("asset_id", flat=True))
    assert all(r["reason"] == "opt_out" for r in news["results"])


def test_withdrawals_are_listed_only_once_settled(api, world_a, key_a, settings):
    settings.WITHDRAWALS_FEED_SETTLE_SECONDS = 60
    withdraw(SliceItem.objects.filter(slice=world_a.slice)[:1], timezone.now())
    assert api(key_a[1]).get(f"/api/v1/licences/{world_a.licence.pk}/withdrawals/").json()["results"] == []


@pytest.mark.parametrize("cursor", ["abc", "eyJ4Ijox", "WyIyMDI2IiwgMV0:1abc:def"])
def test_a_tampered_cursor_is_a_400_invalid_cursor_like_every_list(api, world_a, key_a, cursor):
    response = api(key_a[1]).get(f"/api/v1/licences/{world_a.licence.pk}/withdrawals/?cursor={cursor}")
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_cursor", "fields": {}, "message": (
        "This cursor is not one Tessera gave out: follow the `next` link of a page of this feed instead of "
        "building or editing cursors.")}


def test_a_cursor_of_another_feed_or_another_signature_is_refused_too(api, world_a, key_a):
    from django.core import signing

    forged = signing.dumps(["2026-01-01T00:00:00+00:00", 1], salt="another-salt")
    not_a_pair = signing.dumps("2026-01-01", salt="tessera.withdrawals-cursor")
    for cursor in (forged, not_a_pair):
        response = api(key_a[1]).get(f"/api/v1/licences/{world_a.licence.pk}/withdrawals/", {"cursor": cursor})
        assert response.status_code == 400 and error_of(response)["code"] == "invalid_cursor"


def test_another_organisations_feed_is_a_404(api, world_a, world_b, key_a):
    response = api(key_a[1]).get(f"/api/v1/licences/{world_b.licence.pk}/withdrawals/")
    assert response.status_code == 404


# --- Webhooks ----------------------------------------------------------------------------

def test_registering_an_endpoint_answers_its_secret_once(api, world_a, key_a):
    client = api(key_a[1])
    created = client.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hooks", "events": ["slice.ready"]},
                          format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["slice.ready"]
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{body['id']}/").json()
    event = AuditEvent.objects.get(action="webhook.create")
    assert event.api_key == key_a[0]


@pytest.mark.parametrize("body, code, text", [
    ({"url": "http://10.0.0.5/", "events": ["slice.ready"]}, 422, None),
    ({"url": "http://127.0.0.1/", "events": ["slice.exploded"]}, 400, None),
    ({"url": "http://127.0.0.1/", "events": []}, 400, None),
    ({"events": ["slice.ready"]}, 400, None),
])
def test_bad_endpoints_are_refused_with_a_message(api, world_a, key_a, settings, body, code, text):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = api(key_a[1]).post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == code
    assert error_of(response)["message"]
    assert not WebhookEndpoint.objects.exists()


def test_patch_rotate_deliveries_and_replay(api, world_a, key_a):
    client = api(key_a[1])
    endpoint = client.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/a", "events": ["slice.ready"]},
                           format="json").json()
    path = f"/api/v1/webhooks/{endpoint['id']}/"
    changed = client.patch(path, {"events": ["slice.ready", "items.withdrawn"], "active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert changed.json()["events"] == ["slice.ready", "items.withdrawn"]
    client.patch(path, {"active": True}, format="json")

    rotated = client.post(f"{path}rotate-secret/").json()
    assert rotated["secret"] != endpoint["secret"] and rotated["old_secret_signs_until"]

    message = webhook_emit(organisation_id=world_a.org.pk, event_type="slice.ready", data={"slice": 1})
    log = client.get(f"{path}deliveries/").json()["results"]
    assert [d["msg_id"] for d in log] == [message.msg_id]
    assert log[0]["payload"]["data"] == {"slice": 1} and log[0]["state"] == "pending"

    replayed = client.post(log[0]["replay"])
    assert replayed.status_code == 202 and replayed.json()["replay_of"] == log[0]["id"]
    assert Job.objects.filter(name="webhook.deliver").count() == 2
    assert client.delete(path).status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_another_organisations_webhooks_are_404_and_scopes_are_needed(api, world_a, world_b, key_a, make_key):
    other = WebhookEndpoint.objects.create(organisation=world_b.org, url="https://b.example/", events=["slice.ready"],
                                           secret="whsec_eA==")
    client = api(key_a[1])
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "rotate-secret/"),
                           ("get", "deliveries/")):
        assert getattr(client, method)(f"/api/v1/webhooks/{other.pk}/{suffix}").status_code == 404, (method, suffix)
    _, read_only = make_key(world_a.org, ["webhooks:read"])
    refused = api(read_only).post("/api/v1/webhooks/", {"url": "http://127.0.0.1/", "events": ["slice.ready"]},
                                  format="json")
    assert refused.status_code == 403 and "webhooks:write" in error_of(refused)["message"]
    _, no_webhooks = make_key(world_a.org, ["slices:read"])
    assert api(no_webhooks).get("/api/v1/webhooks/").status_code == 403
