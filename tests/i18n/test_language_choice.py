"""Which language a page is in: the signed-in user's saved choice, else the browser's Accept-Language, else
English; the switch saves a signed-in user's choice and sets the cookie for a visitor; the API stays English."""
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.utils import translation
from rest_framework import serializers

from accounts.models import User
from tests.api.conftest import api, key_a, make_key, world_a  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def language_of(response):
    return response["Content-Language"]


def test_a_visitor_reads_the_browsers_language_and_english_without_one(client):
    assert language_of(client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")) == "de"
    assert language_of(client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="it")) == "it"
    assert language_of(client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="ar-EG")) == "ar"
    assert language_of(client.get("/transparency/")) == "en"
    assert language_of(client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="fr-FR,ja")) == "en", "not one of ours"


def test_a_saved_preference_beats_the_browsers_language(client, alice, amir):
    alice.language = "it"
    alice.save()
    client.force_login(alice)
    assert language_of(client.get("/licences/", HTTP_ACCEPT_LANGUAGE="de")) == "it"

    client.force_login(amir)  # no preference saved: the browser decides
    assert language_of(client.get("/licences/", HTTP_ACCEPT_LANGUAGE="de")) == "de"
    assert language_of(client.get("/licences/")) == "en"


def test_the_switch_saves_a_signed_in_users_choice_and_goes_back(client, alice):
    client.force_login(alice)

    response = client.post("/i18n/setlang/", {"language": "de", "next": "/licences/"})

    assert response.status_code == 302 and response["Location"] == "/licences/"
    assert User.objects.get(pk=alice.pk).language == "de"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    # On another device (no cookie), with a browser asking for Italian, the saved choice holds.
    other = client.__class__()
    other.force_login(alice)
    assert language_of(other.get("/licences/", HTTP_ACCEPT_LANGUAGE="it")) == "de"


def test_no_preference_clears_the_choice_and_the_browser_decides_again(client, alice):
    alice.language = "ar"
    alice.save()
    client.force_login(alice)
    client.post("/i18n/setlang/", {"language": "ar", "next": "/licences/"})

    response = client.post("/i18n/setlang/", {"language": "", "next": "/licences/"})

    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "", "the cookie is deleted"
    assert language_of(client.get("/licences/", HTTP_ACCEPT_LANGUAGE="it")) == "it"


def test_a_visitors_switch_sets_the_cookie_and_saves_nothing(client, alice):
    response = client.post("/i18n/setlang/", {"language": "it", "next": "/transparency/"})

    assert response.status_code == 302 and response["Location"] == "/transparency/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    assert language_of(client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="de")) == "it", "the choice beats the browser"
    assert User.objects.get(pk=alice.pk).language == ""


def test_an_unknown_language_changes_nothing(client, alice):
    client.force_login(alice)

    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/licences/"})

    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).language == ""
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_account_pages_switch_offers_our_languages_and_no_preference(client, alice):
    alice.language = "de"
    alice.save()
    client.force_login(alice)

    form = client.get("/organisation/").context["language_form"]

    assert [code for code, _ in form.fields["language"].choices] == ["", "en", "de", "it", "ar"]
    assert form.initial["language"] == "de" and form.initial["next"] == "/organisation/"


def test_the_api_answers_in_english_whatever_the_browser_asks(client, alice):
    alice.language = "de"
    alice.save()
    client.force_login(alice)  # a session does not make the API German either

    response = client.get("/api/v1/licences/", HTTP_ACCEPT_LANGUAGE="de")

    assert language_of(response) == "en" and response.status_code == 401
    assert response.json()["error"]["message"] == \
        "Authentication required: send 'Authorization: Bearer <key>' with an API key."


def test_api_field_errors_stay_english_though_the_framework_speaks_german(api, world_a, key_a):
    with translation.override("de"):
        german = str(serializers.Field.default_error_messages["required"])
    assert german != "This field is required.", "Django REST framework's German catalogue is installed"

    response = api(key_a[1]).post(f"/api/v1/licences/{world_a.licence.pk}/slices/", {}, format="json",
                                  HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 400 and language_of(response) == "en"
    assert response.json()["error"]["fields"] == {"size": ["This field is required."]}


def test_the_api_docs_say_the_api_speaks_english(client):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    assert "The API answers in English whatever the request's Accept-Language" in response.content.decode()


def test_logging_in_switches_to_the_saved_language_and_the_login_still_works(client, alice):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    alice.language = "it"
    alice.save()
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200 and language_of(page) == "de", "before logging in, the browser's language"

    response = client.post("/accounts/login/", {"login": alice.email, "password": "pw-for-tests-123"},
                           HTTP_ACCEPT_LANGUAGE="de", follow=True)

    assert response.status_code == 200 and response.wsgi_request.user == alice
    assert language_of(response) == "it"


def test_the_account_page_shows_no_preference_selected_until_a_language_is_saved(client, alice):
    client.force_login(alice)

    page = client.get("/organisation/").content.decode()
    assert '<option value="" selected>No preference: my browser' in page

    alice.language = "it"
    alice.save()
    page = client.get("/organisation/").content.decode()
    with translation.override("it"):
        no_preference = translation.gettext("No preference: my browser's language")
    assert no_preference != "No preference: my browser's language"
    assert f'<option value="">{no_preference}</option>' in page
    assert 'value="it" lang="it" selected' in page
