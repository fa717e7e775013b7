"""Organisation API keys: made by the owner (on the page or with a command), shown once, stored only
as a hash, revocable at once."""
import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api_keys import forget_key, ApiKeyError, api_key_create
from accounts.models import ApiKey
from licensing.models import AuditEvent

KEY_SHAPE = re.compile(r"^tsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
PAGE = "/organisation/api-keys/"


def api_status(plaintext, path="/api/v1/licences/"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = client.get(path)
    return response.status_code, response.json()


def stored_row(key):
    """The key's row exactly as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table} WHERE id = %s", [key.pk])
        return [str(value) for value in cursor.fetchone()]


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(org_a, alice):
    key, plaintext = api_key_create(organisation=org_a, by=alice, name="trainer", scopes=["licences:read"])
    prefix, secret = KEY_SHAPE.match(plaintext).groups()
    assert key.prefix == prefix
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    row = stored_row(key)
    assert not any(secret in value or plaintext in value for value in row)
    event = AuditEvent.objects.get(action="api_key.create", target_id=str(key.pk))
    assert event.payload == {"name": "trainer", "scopes": ["licences:read"], "prefix": prefix}
    assert secret not in str(event.payload)
    assert api_status(plaintext)[0] == 200


def test_two_keys_never_share_a_prefix_or_secret(org_a, alice):
    made = [api_key_create(organisation=org_a, by=alice, name=f"k{n}", scopes=["slices:read"]) for n in range(5)]
    assert len({key.prefix for key, _ in made}) == len({plaintext for _, plaintext in made}) == 5


def test_an_owner_creates_a_key_on_the_page_and_sees_it_once(client_for, alice, org_a):
    client = client_for(alice)
    response = client.post(PAGE, {"name": "nightly training", "scopes": ["licences:read", "slices:read"],
                                  "expires_days": "30"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)], "redirected: reloading the page makes no second key"
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    shown = re.search(r'<article id="new-key">.*?<code>(tsk_[^<]+)</code>', html, re.S).group(1)
    key = ApiKey.objects.get(organisation=org_a)
    assert shown.startswith(f"tsk_{key.prefix}_")
    assert (key.name, key.scopes, key.created_by) == ("nightly training", ["licences:read", "slices:read"], alice)
    assert timedelta(days=29, hours=23) < key.expires_at - timezone.now() <= timedelta(days=30)
    assert api_status(shown)[0] == 200

    again = client.get(PAGE).content.decode()
    assert shown not in again
    assert 'id="new-key"' not in again
    assert f"tsk_{key.prefix}_…" in again
    assert "nightly training" in again


def test_the_page_names_what_is_missing_from_a_new_key(client_for, alice, org_a):
    response = client_for(alice).post(PAGE, {"name": "", "scopes": []})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
    assert not ApiKey.objects.exists()


def test_an_owner_revokes_a_key_and_it_stops_working_at_once(client_for, alice, org_a):
    key, plaintext = api_key_create(organisation=org_a, by=alice, name="old pipeline", scopes=["licences:read"])
    assert api_status(plaintext)[0] == 200

    response = client_for(alice).post(f"{PAGE}{key.pk}/revoke/", follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert f"Key “old pipeline” ({key.prefix}) is revoked: it stops working at once." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    status, body = api_status(plaintext)
    assert status == 401
    assert body["error"]["code"] == "revoked_key"
    event = AuditEvent.objects.get(action="api_key.revoke")
    assert (event.actor, event.target_id) == (alice, str(key.pk))


def test_a_plain_member_cannot_see_make_or_revoke_keys(client_for, amir, alice, org_a):
    key, plaintext = api_key_create(organisation=org_a, by=alice, name="pipeline", scopes=["licences:read"])
    client = client_for(amir)
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, {"name": "mine", "scopes": ["licences:read"]}).status_code == 404
    assert client.post(f"{PAGE}{key.pk}/revoke/").status_code == 404
    assert list(ApiKey.objects.values_list("name", "revoked_at")) == [("pipeline", None)]
    assert api_status(plaintext)[0] == 200


def test_another_orgs_owner_cannot_revoke_a_key(client_for, bob, alice, org_a):
    key, plaintext = api_key_create(organisation=org_a, by=alice, name="acme trainer", scopes=["licences:read"])
    response = client_for(bob).post(f"{PAGE}{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    page = client_for(bob).get(PAGE).content.decode()
    assert "acme trainer" not in page
    assert key.prefix not in page
    assert "No keys yet." in page


def test_an_anonymous_visitor_is_sent_to_log_in(client, org_a):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_only_an_owner_can_make_a_key_through_the_service(org_a, amir, bob):
    for user in (amir, bob):
        with pytest.raises(ApiKeyError, match="Only the organisation's owner can create API keys."):
            api_key_create(organisation=org_a, by=user, name="x", scopes=["licences:read"])
    assert not ApiKey.objects.exists()


def test_the_command_prints_the_key_and_nothing_else(org_a):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "--org", org_a.slug, "--name", "ci pipeline",
                 "--scopes", "licences:read, slices:read", "--expires-days", "7", stdout=out, stderr=err)

    printed = out.getvalue()
    assert printed.endswith("\n") and printed.count("\n") == 1
    plaintext = printed.strip()
    assert KEY_SHAPE.match(plaintext)
    assert err.getvalue() == ""
    key = ApiKey.objects.get()
    assert (key.organisation, key.name, key.scopes, key.created_by) == (
        org_a, "ci pipeline", ["licences:read", "slices:read"], None)
    assert timedelta(days=6, hours=23) < key.expires_at - timezone.now() <= timedelta(days=7)
    assert api_status(plaintext)[0] == 200
    assert api_status(plaintext, "/api/v1/invoices/")[0] == 403


SCOPES_ARE = ("Scopes must be some of licences:read, slices:read, slices:write, invoices:read, models:read, "
              "models:write, webhooks:read, webhooks:write")


@pytest.mark.parametrize("scopes, message", [
    ("licences:read,admin:all", f"{SCOPES_ARE}; unknown: admin:all."),
    ("slices:delete,bogus", f"{SCOPES_ARE}; unknown: bogus, slices:delete."),
    (",", f"{SCOPES_ARE}."),
])
def test_the_command_refuses_unknown_scopes(org_a, scopes, message):
    out = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("create_api_key", "--org", org_a.slug, "--name", "x", "--scopes", scopes, stdout=out)
    assert str(refused.value) == message
    assert out.getvalue() == ""
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("args, message", [
    (["--org", "nobody"], "No organisation with slug 'nobody'."),
    (["--org", "acme-vision", "--expires-days", "0"], "A key must live at least one day."),
])
def test_the_command_refuses_what_it_cannot_do(org_a, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("create_api_key", "--name", "x", "--scopes", "licences:read", *args, stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_last_use_is_recorded_at_most_once_a_minute(org_a, alice):
    key, plaintext = api_key_create(organisation=org_a, by=alice, name="poller", scopes=["licences:read"])
    assert key.last_used_at is None
    api_status(plaintext)
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    api_status(plaintext)
    key.refresh_from_db()
    assert key.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    forget_key(key.prefix)  # two minutes on, the gate's cached record of the key has expired too
    api_status(plaintext)
    key.refresh_from_db()
    assert key.last_used_at > first
