"""Who may call what: every v1 endpoint against every kind of caller.

Anonymous → 401; a key without the endpoint's scope → 403 naming the scope; another
organisation's key → 404 for org A's objects (lists show only its own); an expired or a
revoked key → 401 saying so; org A's own key with the scope → 2xx and the body a pipeline
expects.
"""
import csv
import io
import json
from dataclasses import dataclass
from typing import Callable

import pytest

from licensing.models import Slice
from tests.api.conftest import ALL_SCOPES, error_of


@dataclass(frozen=True, eq=False)
class Endpoint:
    name: str
    method: str
    path: str  # with {licence}, {slice}, {invoice} of org A's world
    scope: str
    check: Callable  # (response, this world, the other world) -> asserts the body
    lists_own: bool = False  # a list of the caller's organisation's things, not one of org A's
    body: dict | None = None

    def __str__(self):
        return self.name


def check_licence_list(response, a, b):
    ids = [licence["id"] for licence in response.json()["results"]]
    assert ids == [a.licence.pk]
    assert response.json()["next"] is None


def check_licence(response, a, b):
    body = response.json()
    assert body["id"] == a.licence.pk
    assert body["organisation"] == a.org.name
    assert body["state"] == "research_active"
    assert body["caps"] == {"assets": 100, "bytes": 10**12, "slices": 50}
    assert body["usage"] == {"assets": 3, "bytes": a.slice.total_bytes, "slices": 1}
    assert body["links"]["slices"] == f"http://testserver/api/v1/licences/{a.licence.pk}/slices/"


def check_terms(response, a, b):
    assert response["Content-Type"] == "application/ld+json"
    terms = json.loads(response.content)
    assert terms["@context"] == "http://www.w3.org/ns/odrl.jsonld"
    assert terms["type"] == "Agreement"
    assert a.org.name in terms["dct:title"]


def check_slice_list(response, a, b):
    slices = response.json()["results"]
    assert [s["id"] for s in slices] == [a.slice.pk]
    assert slices[0]["status"] == "ready"


def check_slice_requested(response, a, b):
    body = response.json()
    assert body["status"] == "queued"
    assert body["licence"] == a.licence.pk
    assert body["size_requested"] == 2
    assert Slice.objects.filter(licence=a.licence).count() == 2


def check_slice(response, a, b):
    body = response.json()
    assert body["id"] == a.slice.pk
    assert body["status"] == "ready"
    assert body["asset_count"] == 3
    assert body["links"]["manifest_jsonl"] == f"http://testserver/api/v1/slices/{a.slice.pk}/manifest.jsonl"


def check_items(response, a, b):
    items = response.json()["results"]
    assert [item["position"] for item in items] == [1, 2, 3]
    asset_ids = set(a.slice.items.values_list("asset_id", flat=True))
    assert {item["asset_id"] for item in items} == asset_ids
    assert all(item["download_url"].startswith("http://testserver/") for item in items)


def check_jsonl(response, a, b):
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3
    assert {json.loads(line)["asset_id"] for line in lines} == set(a.slice.items.values_list("asset_id", flat=True))


def check_csv(response, a, b):
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["asset_id", "kind"]
    assert len(rows) == 4


def check_croissant(response, a, b):
    assert response["Content-Type"] == "application/ld+json"
    dataset = json.loads(b"".join(response.streaming_content))
    assert dataset["@type"] == "sc:Dataset"
    assert dataset["name"] == f"tessera-licence-{a.licence.pk}-slice-{a.slice.number}"


def check_invoice_list(response, a, b):
    numbers = [invoice["number"] for invoice in response.json()["results"]]
    assert numbers == [a.invoice.display_number]


def check_invoice(response, a, b):
    body = response.json()
    assert body["number"] == a.invoice.display_number
    assert body["gross_total"] == "595.00"
    assert body["balance"] == "595.00"
    assert [line["net_amount"] for line in body["lines"]] == ["500.00"]


def check_pdf(response, a, b):
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f'filename="{a.invoice.display_number}.pdf"' in response["Content-Disposition"]


ENDPOINTS = [
    Endpoint("licence list", "get", "/api/v1/licences/", "licences:read", check_licence_list, lists_own=True),
    Endpoint("licence", "get", "/api/v1/licences/{licence}/", "licences:read", check_licence),
    Endpoint("licence terms", "get", "/api/v1/licences/{licence}/terms.jsonld", "licences:read", check_terms),
    Endpoint("slice list", "get", "/api/v1/licences/{licence}/slices/", "slices:read", check_slice_list),
    Endpoint("slice request", "post", "/api/v1/licences/{licence}/slices/", "slices:write", check_slice_requested,
             body={"size": 2}),
    Endpoint("slice", "get", "/api/v1/slices/{slice}/", "slices:read", check_slice),
    Endpoint("slice items", "get", "/api/v1/slices/{slice}/items/", "slices:read", check_items),
    Endpoint("manifest.jsonl", "get", "/api/v1/slices/{slice}/manifest.jsonl", "slices:read", check_jsonl),
    Endpoint("manifest.csv", "get", "/api/v1/slices/{slice}/manifest.csv", "slices:read", check_csv),
    Endpoint("croissant.json", "get", "/api/v1/slices/{slice}/croissant.json", "slices:read", check_croissant),
    Endpoint("invoice list", "get", "/api/v1/invoices/", "invoices:read", check_invoice_list, lists_own=True),
    Endpoint("invoice", "get", "/api/v1/invoices/{invoice}/", "invoices:read", check_invoice),
    Endpoint("invoice pdf", "get", "/api/v1/invoices/{invoice}/pdf", "invoices:read", check_pdf),
]

every_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)


def call(api, endpoint, world, key=None):
    client = api(key)
    path = endpoint.path.format(licence=world.licence.pk, slice=world.slice.pk, invoice=world.invoice.pk)
    if endpoint.method == "post":
        return client.post(path, endpoint.body, format="json")
    return client.get(path)


@every_endpoint
def test_it_asks_an_anonymous_caller_for_a_key(api, world_a, endpoint):
    slices_before = Slice.objects.count()
    response = call(api, endpoint, world_a)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="tessera"'
    assert error_of(response) == {
        "code": "not_authenticated",
        "message": "Authentication required: send 'Authorization: Bearer <key>' with an API key.",
        "fields": {},
    }
    assert Slice.objects.count() == slices_before


@every_endpoint
def test_it_names_the_scope_a_key_lacks(api, world_a, make_key, endpoint):
    _, plaintext = make_key(world_a.org, [scope for scope in ALL_SCOPES if scope != endpoint.scope])
    slices_before = Slice.objects.count()
    response = call(api, endpoint, world_a, plaintext)
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied"
    assert error["message"] == (f"This API key lacks the scope {endpoint.scope}; "
                                "create a key with it on the API keys page.")
    assert Slice.objects.count() == slices_before


@every_endpoint
def test_it_rejects_another_orgs_key(api, world_a, world_b, make_key, endpoint):
    _, bobs_key = make_key(world_b.org)
    slices_before = Slice.objects.count()
    response = call(api, endpoint, world_a, bobs_key)
    if endpoint.lists_own:
        # The same list, but of org B's things only: nothing of org A's shows.
        assert response.status_code == 200
        endpoint.check(response, world_b, world_a)
    else:
        assert response.status_code == 404
        assert error_of(response) == {
            "code": "not_found",
            "message": "Not found: it does not exist or belongs to another organisation.",
            "fields": {},
        }
    assert Slice.objects.count() == slices_before


@every_endpoint
def test_it_says_an_expired_key_expired(api, world_a, make_key, endpoint):
    key, plaintext = make_key(world_a.org, expired=True)
    response = call(api, endpoint, world_a, plaintext)
    assert response.status_code == 401
    assert error_of(response) == {
        "code": "expired_key",
        "message": f"This API key (tsk_{key.prefix}) expired on {key.expires_at:%Y-%m-%d}.",
        "fields": {},
    }
    key.refresh_from_db()
    assert key.last_used_at is None


@every_endpoint
def test_it_says_a_revoked_key_was_revoked(api, world_a, make_key, endpoint):
    key, plaintext = make_key(world_a.org, revoked=True)
    slices_before = Slice.objects.count()
    response = call(api, endpoint, world_a, plaintext)
    assert response.status_code == 401
    assert error_of(response) == {
        "code": "revoked_key",
        "message": f"This API key (tsk_{key.prefix}) was revoked on {key.revoked_at:%Y-%m-%d}.",
        "fields": {},
    }
    assert Slice.objects.count() == slices_before


@every_endpoint
def test_it_answers_the_orgs_own_key_with_the_scope(api, world_a, world_b, make_key, endpoint):
    key, plaintext = make_key(world_a.org, [endpoint.scope])
    response = call(api, endpoint, world_a, plaintext)
    assert response.status_code == (202 if endpoint.method == "post" else 200), response.content[:500]
    endpoint.check(response, world_a, world_b)
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize("header, message", [
    ("Bearer tsk_nosuchprefix_nosuchsecret", "Unknown API key: check that it was copied whole."),
    ("Bearer not-a-key", "Unknown API key: check that it was copied whole."),
    ("Token abc", "Send the key as 'Authorization: Bearer <key>'."),
])
def test_it_rejects_a_key_it_does_not_know(client, world_a, header, message):
    response = client.get("/api/v1/licences/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert error_of(response)["message"] == message


def test_it_rejects_a_known_prefix_with_the_wrong_secret(client, key_a):
    key, plaintext = key_a
    forged = f"tsk_{key.prefix}_{'x' * 43}"
    response = client.get("/api/v1/licences/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unknown_key"


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/slices/-1/"),
    ("get", "/api/v1/datasets/"),
    ("post", "/api/v1/licences/1/slices/extra"),
    ("get", "/api/v1/invoices/1%0A2/"),
])
def test_a_path_that_is_no_endpoint_answers_a_json_404(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found",
                                  "message": "No such API endpoint: the endpoints are listed at /api/docs/.",
                                  "fields": {}}


def test_a_missing_trailing_slash_is_redirected_for_a_get_and_named_for_a_post(api, world_a, key_a):
    client = api(key_a[1])
    response = client.get("/api/v1/licences?state=research_active")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/licences/?state=research_active"
    response = client.post(f"/api/v1/licences/{world_a.licence.pk}/slices", {"size": 1}, format="json")
    assert response.status_code == 404
    assert error_of(response)["message"] == (
        f"No such API endpoint: did you mean /api/v1/licences/{world_a.licence.pk}/slices/ (with the trailing slash)?")
    assert Slice.objects.filter(licence=world_a.licence).count() == 1
