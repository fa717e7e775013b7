import re

import pytest
from django.core import mail
from django.db import IntegrityError

from accounts.models import Invitation, Membership, Organisation, User

pytestmark = pytest.mark.django_db

ORG_FORM = {
    "name": "Pixel Forge",
    "legal_name": "Pixel Forge SAS",
    "kind": "startup",
    "country": "fr",
    "vat_id": "FR12345678901",
    "billing_address": "3 rue de la Paix\n75002 Paris",
    "website": "https://pixelforge.example",
}


def confirmation_link(message):
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)


def test_a_new_user_signs_up_verifies_their_email_and_creates_their_organisation(client):
    response = client.post(
        "/accounts/signup/",
        {"full_name": "Nora Quist", "email": "Nora@PixelForge.example", "password1": "a-long-passphrase-42",
         "password2": "a-long-passphrase-42"},
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "nora@pixelforge.example"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nora@pixelforge.example"]

    # Until the address is verified, the organisation pages stay closed.
    assert client.get("/organisation/new/").status_code == 302

    link = confirmation_link(mail.outbox[0])
    response = client.post(link)
    assert response.status_code == 302

    response = client.get("/organisation/new/")
    assert response.status_code == 200
    assert "Create your organisation" in response.content.decode()

    response = client.post("/organisation/new/", ORG_FORM)
    assert response.status_code == 302
    organisation = Organisation.objects.get()
    assert organisation.slug == "pixel-forge"
    assert organisation.country == "FR"
    membership = Membership.objects.get(user=user)
    assert membership.organisation == organisation and membership.role == "owner"
    assert "Pixel Forge" in client.get("/organisation/").content.decode()


def test_the_organisation_form_shows_errors_next_to_the_fields_and_saves_nothing(client, db):
    user = User.objects.create_user("kim@example.org", "pw-for-tests-123")
    client.force_login(user)
    response = client.post("/organisation/new/", {**ORG_FORM, "country": "France", "legal_name": ""})
    body = response.content.decode()
    assert response.status_code == 200
    assert "two-letter ISO 3166 country code" in body
    assert "This field is required." in body
    assert Organisation.objects.count() == 0


def test_an_owner_invites_a_colleague_who_joins_as_member(client, alice, org_a, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/organisation/invite/", {"email": "Zoe@Acme.example"})
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "zoe@acme.example"
    assert mail.outbox[-1].to == ["zoe@acme.example"]
    assert f"/organisation/invitations/{invitation.token}/" in mail.outbox[-1].body

    zoe = User.objects.create_user("zoe@acme.example", "pw-for-tests-123")
    client.force_login(zoe)
    response = client.post(f"/organisation/invitations/{invitation.token}/")
    assert response.status_code == 302
    assert Membership.objects.get(user=zoe).organisation == org_a
    assert Membership.objects.get(user=zoe).role == "member"
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_an_invitation_cannot_be_used_by_someone_else(client, alice, org_a, bob):
    client.force_login(alice)
    client.post("/organisation/invite/", {"email": "zoe@acme.example"})
    token = Invitation.objects.get().token
    client.force_login(bob)
    response = client.post(f"/organisation/invitations/{token}/", follow=True)
    assert "This invitation is for zoe@acme.example" in response.content.decode()
    assert Membership.objects.get(user=bob).organisation.name == "Blue Models"


def test_a_plain_member_cannot_invite(client, amir):
    client.force_login(amir)
    response = client.post("/organisation/invite/", {"email": "eve@acme.example"}, follow=True)
    assert "Only the organisation&#x27;s owner can do this." in response.content.decode()
    assert Invitation.objects.count() == 0


def test_emails_are_unique_whatever_their_case(db):
    User.objects.create_user("sam@example.org", "pw-for-tests-123")
    with pytest.raises(IntegrityError):
        User.objects.create(email="SAM@example.org")
