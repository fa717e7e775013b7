"""The account pages speak Tessera's words, sign-up asks for a name, and the e-mails link to SITE_URL."""
import re

import pytest
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db

SIGNUP = {"full_name": "  Nora   Quist ", "email": "nora@pixelforge.example", "password1": "a-long-passphrase-42",
          "password2": "a-long-passphrase-42"}


@pytest.mark.parametrize("url, title, button", [
    ("/accounts/login/", "Log in", "Log in"),
    ("/accounts/signup/", "Sign up", "Sign up"),
    ("/accounts/password/reset/", "Reset your password", "Send the link"),
])
def test_the_account_pages_say_log_in_and_sign_up_without_stock_wording(client, url, title, button):
    page = client.get(url).content.decode()
    assert f"<h1>{title}</h1>" in page and f">{button}</button>" in page
    for stock in ("Sign In", "Sign Up", "sign in", "Signup", "please"):
        assert stock not in page, stock
    assert not re.search(r"<label[^>]*>[^<]*:\s*</label>", page), "no labels end with a colon"


def test_sign_up_asks_for_a_name_and_saves_it(client):
    page = client.get("/accounts/signup/").content.decode()
    assert '<label for="id_full_name">Your name' in page
    assert page.index('name="full_name"') < page.index('name="email"')
    response = client.post("/accounts/signup/", {**SIGNUP, "full_name": ""})
    assert response.status_code == 200 and not User.objects.exists()
    client.post("/accounts/signup/", SIGNUP)
    assert User.objects.get().full_name == "Nora Quist"


def test_the_confirmation_email_speaks_for_tessera_and_links_to_the_site_url(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8313"
    client.post("/accounts/signup/", SIGNUP, HTTP_HOST="testserver")
    message = mail.outbox[0]
    assert message.subject == "[Tessera] Confirm your e-mail address"
    assert message.body.startswith("Hello Nora Quist,")
    assert "Hello from" not in message.body and "testserver" not in message.body
    link = re.search(r"(\S+/accounts/confirm-email/\S+/)", message.body).group(1)
    assert link.startswith("http://127.0.0.1:8313/accounts/confirm-email/")
    assert "Tessera, licences for AI training data" in message.body


def test_the_password_reset_email_links_to_the_site_url(client, settings):
    settings.SITE_URL = "https://tessera.example"
    User.objects.create_user("kim@example.org", "pw-for-tests-123", full_name="Kim")
    client.post("/accounts/password/reset/", {"email": "kim@example.org"})
    body = mail.outbox[0].body
    assert re.search(r"https://tessera\.example/accounts/password/reset/key/\S+/", body)
    assert body.startswith("Hello Kim,")


def test_the_http_protocol_follows_the_site_url():
    from django.conf import settings

    assert settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL == settings.SITE_URL.split(":")[0]


def test_after_confirming_a_new_applicant_goes_straight_to_their_organisation(client):
    client.post("/accounts/signup/", SIGNUP)
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.outbox[0].body).group(1)
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == "/organisation/new/"


@pytest.mark.parametrize("url", ["/accounts/email/", "/accounts/password/change/"])
def test_allauths_other_pages_lay_out_their_forms_like_the_site(client_for, alice, url):
    page = client_for(alice).get(url).content.decode()
    assert "<label" in page
    assert not re.search(r"<label[^>]*>[^<]*:\s*</label>", page), "no labels end with a colon"
    assert "<main" in page and "Tessera" in page
