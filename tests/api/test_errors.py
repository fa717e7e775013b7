"""What a pipeline meets when it sends something the API does not take, or the API itself fails:
always a JSON error with a message and a request id to quote, never Django's HTML pages, which the
rest of the site keeps."""
import base64
import json
import logging
import re

import pytest
from django.test import Client

from licensing.api import views
from licensing.api.parsers import MAX_DEPTH
from licensing.models import Slice
from tests.api.conftest import error_of

GET_ONLY = "GET, HEAD, OPTIONS"
PATHS = [
    ("/api/v1/licences/", GET_ONLY),
    ("/api/v1/licences/{licence}/", GET_ONLY),
    ("/api/v1/licences/{licence}/terms.jsonld", GET_ONLY),
    ("/api/v1/licences/{licence}/slices/", "GET, POST, HEAD, OPTIONS"),
    ("/api/v1/slices/{slice}/", GET_ONLY),
    ("/api/v1/slices/{slice}/items/", GET_ONLY),
    ("/api/v1/slices/{slice}/manifest.jsonl", GET_ONLY),
    ("/api/v1/invoices/", GET_ONLY),
    ("/api/v1/invoices/{invoice}/", GET_ONLY),
    ("/api/v1/invoices/{invoice}/pdf", GET_ONLY),
]
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def url(path, world):
    return path.format(licence=world.licence.pk, slice=world.slice.pk, invoice=world.invoice.pk)


def slices_url(world):
    return f"/api/v1/licences/{world.licence.pk}/slices/"


def post_raw(client, world, body, content_type="application/json"):
    return client.generic("POST", slices_url(world), body, content_type=content_type)


# --- Methods ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "TRACE"])
@pytest.mark.parametrize("path, allow", PATHS)
def test_a_method_an_endpoint_does_not_answer_is_a_405_naming_the_ones_it_does(api, world_a, key_a, path, allow,
                                                                              method):
    response = api(key_a[1]).generic(method, url(path, world_a))
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert error_of(response) == {"code": "method_not_allowed",
                                  "message": f"{method} is not allowed here: this endpoint answers {allow}.",
                                  "fields": {}}


def test_a_key_without_the_endpoint_scope_is_told_about_the_method_not_the_scope(api, world_a, make_key):
    _, plaintext = make_key(world_a.org, ["invoices:read"])
    response = api(plaintext).delete(f"/api/v1/licences/{world_a.licence.pk}/")
    assert response.status_code == 405
    assert response["Allow"] == GET_ONLY
    assert error_of(response)["code"] == "method_not_allowed"


def test_a_method_is_refused_only_after_the_key_is_checked(api, world_a):
    response = api().delete(f"/api/v1/licences/{world_a.licence.pk}/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_a_refused_method_changes_nothing(api, world_a, key_a):
    response = api(key_a[1]).put(slices_url(world_a), {"size": 1}, format="json")
    assert response.status_code == 405
    assert Slice.objects.filter(licence=world_a.licence).count() == 1


@pytest.mark.parametrize("path, allow", PATHS)
def test_options_describes_the_endpoint_to_any_valid_key(api, world_a, make_key, path, allow):
    _, plaintext = make_key(world_a.org, ["invoices:read"])
    response = api(plaintext).options(url(path, world_a))
    assert response.status_code == 200
    assert response["Allow"] == allow
    assert response.json()["name"]
    assert "actions" not in response.json()  # the POST form is shown only to a key that may post


def test_options_shows_the_post_form_to_a_key_that_may_post(api, world_a, make_key):
    _, plaintext = make_key(world_a.org, ["slices:write"])
    response = api(plaintext).options(slices_url(world_a))
    assert response.status_code == 200
    post = response.json()["actions"]["POST"]
    assert set(response.json()["actions"]) == {"POST"}
    assert {"size", "seed"} <= set(post)  # the fields a request takes
    assert "status" not in post


def test_options_still_asks_for_a_key(api, world_a):
    response = api().options("/api/v1/licences/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


# --- Bodies ----------------------------------------------------------------------------------------

def test_a_5_mb_body_is_a_json_413_that_states_the_limit(api, world_a, key_a, settings):
    body = json.dumps({"size": 1, "padding": "x" * 5_000_000})
    response = post_raw(api(key_a[1]), world_a, body)
    assert response.status_code == 413
    assert error_of(response) == {
        "code": "too_large",
        "message": f"The request body is {len(body)} bytes; the API accepts bodies of at most "
                   f"{settings.API_MAX_BODY_BYTES} bytes.",
        "fields": {},
    }
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])
    assert Slice.objects.filter(licence=world_a.licence).count() == 1


def test_the_limit_is_the_setting_and_a_body_at_it_is_read(api, world_a, key_a, settings):
    settings.API_MAX_BODY_BYTES = 100
    at_limit = json.dumps({"size": 0}).ljust(100)
    client = api(key_a[1])
    assert post_raw(client, world_a, at_limit + " ").status_code == 413
    response = post_raw(client, world_a, at_limit)
    assert response.status_code == 400  # read, and refused for its size field, not its own size
    assert set(error_of(response)["fields"]) == {"size"}


def test_an_oversized_body_is_refused_before_the_key_is_checked(api, world_a):
    response = post_raw(api(), world_a, "x" * 2_000_000, content_type="text/plain")
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_json_nested_100000_deep_is_a_400_not_a_crash(api, world_a, key_a):
    response = post_raw(api(key_a[1]), world_a, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "parse_error",
        "message": f"The body nests arrays and objects deeper than {MAX_DEPTH} levels: send the flat fields "
                   "the endpoint documents.",
        "fields": {},
    }


def test_json_just_past_the_depth_limit_is_refused_and_at_it_reaches_the_fields(api, world_a, key_a):
    client = api(key_a[1])

    def nested(depth):  # {"size": [[...]]}: the object is the first level
        return '{"size": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    assert error_of(post_raw(client, world_a, nested(MAX_DEPTH + 1)))["code"] == "parse_error"
    at_limit = post_raw(client, world_a, nested(MAX_DEPTH))
    assert at_limit.status_code == 400
    assert set(error_of(at_limit)["fields"]) == {"size"}


@pytest.mark.parametrize("body, message", [
    ('{"size": 1', "The body is not valid JSON: Expecting ',' delimiter at line 1, column 11."),
    ("{size: 1}", "The body is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
                  "column 2."),
    ('{"size": NaN}', "The body is not valid JSON: NaN is not a JSON number."),
    ("  ", "The body is not valid JSON: Expecting value at line 1, column 3."),
    (b'{"size": "\xff"}', "The body is not valid JSON: it is not utf-8 text."),
    ('{"size": ' + "9" * 5000 + "}", "The body holds a number too long to read."),
])
def test_a_body_that_is_not_json_is_a_400_saying_where(api, world_a, key_a, body, message):
    response = post_raw(api(key_a[1]), world_a, body)
    assert response.status_code == 400
    assert error_of(response) == {"code": "parse_error", "message": message, "fields": {}}
    assert Slice.objects.filter(licence=world_a.licence).count() == 1


def test_a_body_of_another_type_is_a_415_naming_json(api, world_a, key_a):
    response = post_raw(api(key_a[1]), world_a, "size=1", content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response) == {"code": "unsupported_media_type",
                                  "message": 'Unsupported media type "text/plain" in request. '
                                             "Send the body as application/json.",
                                  "fields": {}}


def test_a_form_over_djangos_own_limit_is_a_json_413_stating_that_limit(api, world_a, key_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_raw(api(key_a[1]), world_a, "size=1&padding=" + "x" * 2000,
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert error_of(response) == {"code": "too_large",
                                  "message": "The request body is too large to read; the API accepts bodies of at "
                                             "most 1000 bytes.",
                                  "fields": {}}


def test_a_form_with_too_many_fields_is_a_json_400(api, world_a, key_a):
    body = "&".join(f"f{n}=1" for n in range(1500))
    response = post_raw(api(key_a[1]), world_a, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert error_of(response) == {"code": "bad_request",
                                  "message": "The body has more than 1000 fields: send the JSON body the "
                                             "endpoint documents.",
                                  "fields": {}}


# --- Crashes and request ids -----------------------------------------------------------------------

def crash_the_licence_selector(monkeypatch):
    def broken(self):
        raise RuntimeError("database went away")

    monkeypatch.setattr(views.ApiView, "licences", broken)


def logged(caplog, event):
    return [record for record in caplog.records if isinstance(record.msg, dict) and record.msg.get("event") == event]


def test_a_crash_in_a_view_is_a_json_500_whose_request_id_is_in_the_log(api, world_a, key_a, monkeypatch, caplog):
    crash_the_licence_selector(monkeypatch)
    response = api(key_a[1]).get("/api/v1/licences/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    request_id = response["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)
    assert response.json() == {"error": {
        "code": "server_error",
        "message": f"Something went wrong on our side and it has been logged as request {request_id}. "
                   "Retry later; if it keeps happening, quote that id.",
        "fields": {},
        "request_id": request_id,
    }}
    [record] = logged(caplog, "api.unexpected_error")
    assert record.levelname == "ERROR"
    assert record.msg["request_id"] == request_id
    assert record.msg["path"] == "/api/v1/licences/"
    assert isinstance(record.msg["exc_info"], RuntimeError)
    [request_line] = logged(caplog, "request")
    assert (request_line.msg["request_id"], request_line.msg["status"]) == (request_id, 500)


def test_a_crash_keeps_the_callers_own_request_id(api, world_a, key_a, monkeypatch, caplog):
    crash_the_licence_selector(monkeypatch)
    response = api(key_a[1]).get("/api/v1/licences/", HTTP_X_REQUEST_ID="run-42_step-7")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "run-42_step-7"
    assert response.json()["error"]["request_id"] == "run-42_step-7"
    [record] = logged(caplog, "api.unexpected_error")
    assert record.msg["request_id"] == "run-42_step-7"


@pytest.mark.parametrize("offered", ["x" * 65, "two words", 'quote"', "line\\nbreak", "ünïcode", "a.b"])
def test_a_request_id_that_is_not_sane_is_replaced(api, world_a, key_a, offered):
    response = api(key_a[1]).get("/api/v1/licences/", HTTP_X_REQUEST_ID=offered)
    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


def test_a_request_id_of_64_characters_is_kept(api, world_a, key_a):
    offered = "A-z_9" * 12 + "abcd"
    assert len(offered) == 64
    assert api(key_a[1]).get("/api/v1/licences/", HTTP_X_REQUEST_ID=offered)["X-Request-ID"] == offered


@pytest.mark.parametrize("path, status", [
    ("/api/v1/licences/", 200),
    ("/api/v1/licences/999999/", 404),
    ("/api/v1/datasets/", 404),
])
def test_every_api_answer_carries_a_request_id(api, world_a, key_a, path, status):
    response = api(key_a[1]).get(path)
    assert response.status_code == status
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])
    unauthenticated = api().get(path)
    assert GENERATED_ID.fullmatch(unauthenticated["X-Request-ID"])


def test_an_unknown_host_is_a_json_400_under_the_api(client, world_a):
    response = client.get("/api/v1/licences/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert error_of(response) == {"code": "bad_request",
                                  "message": "This server does not answer for that Host header.", "fields": {}}
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


def test_an_unknown_method_on_an_unknown_path_is_still_a_json_404(api, key_a):
    response = api(key_a[1]).delete("/api/v1/datasets/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- Pagination ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["null", "-1", "1" + "0" * 30, "10^30", "1.5", "501", " 5", "５"])
@pytest.mark.parametrize("path", ["/api/v1/licences/", "/api/v1/licences/{licence}/slices/", "/api/v1/invoices/"])
def test_a_page_size_outside_the_range_is_a_400_that_states_it(api, world_a, key_a, path, value):
    response = api(key_a[1]).get(url(path, world_a), {"page_size": value})
    assert response.status_code == 400
    allowed = "page_size is a whole number from 1 to 500; leave it out for 50 per page."
    assert error_of(response) == {"code": "invalid", "message": allowed, "fields": {"page_size": [allowed]}}


def test_slice_items_state_their_own_range(api, world_a, key_a):
    client = api(key_a[1])
    response = client.get(f"/api/v1/slices/{world_a.slice.pk}/items/", {"page_size": "5001"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "page_size is a whole number from 1 to 5000; leave it out for 500 per page."
    assert client.get(f"/api/v1/slices/{world_a.slice.pk}/items/", {"page_size": "5000"}).status_code == 200


@pytest.mark.parametrize("value, results", [("1", 1), ("500", 1), ("", 1)])
def test_a_page_size_in_the_range_is_used(api, world_a, key_a, value, results):
    response = api(key_a[1]).get("/api/v1/licences/", {"page_size": value})
    assert response.status_code == 200
    assert len(response.json()["results"]) == results


def test_the_schema_states_the_page_size_range_and_its_400(api):
    schema = api().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    items = schema["paths"]["/api/v1/slices/{id}/items/"]["get"]
    [page_size] = [p for p in items["parameters"] if p["name"] == "page_size"]
    assert page_size["schema"] == {"type": "integer", "minimum": 0, "maximum": 5000, "default": 500}
    assert items["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "page_size" in schema["paths"]["/api/v1/licences/"]["get"]["responses"]["400"]["description"]


# --- The rest of the site keeps Django's pages ---------------------------------------------------------

@pytest.mark.django_db
def test_pages_keep_the_html_404_and_400(client):
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("text/html")
    bad_host = client.get("/", HTTP_HOST="evil.example")
    assert bad_host.status_code == 400
    assert bad_host["Content-Type"].startswith("text/html")
    assert b"Bad Request (400)" in bad_host.content


@pytest.mark.django_db
def test_a_page_with_a_5_mb_form_keeps_djangos_refusal(client):
    response = client.post("/accounts/login/", "login=" + "a" * 5_000_000,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_crash_in_a_page_keeps_djangos_500_page(monkeypatch):
    from licensing.views import home

    def broken(*args, **kwargs):
        raise RuntimeError("template engine went away")

    monkeypatch.setattr(home, "render", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"Server Error (500)" in response.content


@pytest.fixture(autouse=True)
def errors_are_logged(caplog):
    caplog.set_level(logging.INFO)


def cursor(query):
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize("value", [cursor("o=-1"), cursor("p=" + "9" * 5000), cursor("r=x"), "ü"])
@pytest.mark.parametrize("path", ["/api/v1/licences/{licence}/slices/", "/api/v1/slices/{slice}/items/"])
def test_other_damaged_cursors_are_the_same_400(api, world_a, key_a, path, value):
    response = api(key_a[1]).get(url(path, world_a), {"cursor": value})
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_cursor", "fields": {}, "message": (
        "This cursor is not one Tessera gave out: follow the `next` or `previous` link of a page "
        "instead of building or editing cursors.")}
