"""Every page says which language it is in and which way it reads: <html lang dir> follows the
reader's language (from Accept-Language, or the cookie the switcher sets), right to left only for
Arabic, and the header's switcher offers each language in its own name with the reader's chosen."""
import re

import pytest
from django.conf import settings

from licensing.services.slices import slice_build, slice_request
from tests.conftest import make_user
from tests.licensing.factories import catalogue, research_licence
from tests.licensing.test_royalties import make_contributor

pytestmark = pytest.mark.django_db

# code, direction, the language's own name as the switcher shows it
LANGUAGES = [("en", "ltr", "English"), ("de", "ltr", "Deutsch"), ("it", "ltr", "Italiano"), ("ar", "rtl", "العربيّة")]
BY_LANGUAGE = pytest.mark.parametrize("code, direction, own_name", LANGUAGES, ids=[code for code, *_ in LANGUAGES])


@pytest.fixture
def world(org_a, alice):
    """A licence with a built slice, and a contributor with a login whose works are in it."""
    contributor = make_contributor("Pia Photographer", user=make_user("pia@photos.example"), public_profile=True)
    catalogue(4, contributor=contributor)
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_build(slice_id=slice_request(licence=licence, by=alice, size=4, seed=1).pk)
    return {"licence": licence, "contributor": contributor}


def html_element(page):
    found = re.search(r"<html\b[^>]*>", page)
    assert found, "the page has an <html> element"
    attributes = dict(re.findall(r'(\w+)="([^"]*)"', found.group(0)))
    return attributes.get("lang", ""), attributes.get("dir", "")


def pages_for(world, client_for, alice):
    """(what, path, client) for the anonymous and the signed-in pages the test reads."""
    from django.test import Client

    anonymous = Client()
    return [
        ("home", "/", anonymous), ("login", "/accounts/login/", anonymous),
        ("sign-up", "/accounts/signup/", anonymous), ("transparency", "/transparency/", anonymous),
        ("licence", f"/licences/{world['licence'].pk}/", client_for(alice)),
    ]


def assert_in_language(page, code, direction, own_name, what):
    lang, dir_ = html_element(page)
    assert lang.split("-")[0] == code, f"{what}: lang={lang!r}"
    assert dir_ == direction, f"{what}: dir={dir_!r}"
    switcher = re.search(r'<select name="language"[^>]*>(.*?)</select>', page, re.S)
    assert switcher, f"{what}: the header offers the language switcher"
    options = re.findall(r'<option value="([^"]+)" lang="([^"]+)"( selected)?>([^<]+)</option>', switcher.group(1))
    assert {value.split("-")[0] for value, *_ in options} == {"en", "de", "it", "ar"}, what
    assert all(value == lang_ for value, lang_, _, _ in options), "each option says which language its name is in"
    chosen = [name for value, _, selected, name in options if selected]
    assert chosen == [own_name], f"{what}: the switcher shows the reader's language chosen"


@BY_LANGUAGE
def test_pages_follow_the_accept_language_header(world, client_for, alice, code, direction, own_name):
    for what, path, client in pages_for(world, client_for, alice):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=f"{code},en;q=0.5")
        assert response.status_code == 200, what
        assert response.headers.get("Content-Language", code).split("-")[0] == code, what
        assert_in_language(response.content.decode(), code, direction, own_name, what)


@BY_LANGUAGE
def test_a_contributors_pages_follow_the_language_cookie(world, client_for, code, direction, own_name):
    client = client_for(world["contributor"].user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    for path in ("/contributor/", "/contributor/works/", "/contributor/earnings/", "/contributor/where-used/",
                 "/contributor/ai-training/", f"/contributors/{world['contributor'].pk}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_in_language(response.content.decode(), code, direction, own_name, path)


def test_only_arabic_reads_right_to_left(client):
    directions = {code: html_element(client.get("/", HTTP_ACCEPT_LANGUAGE=code).content.decode())[1]
                  for code, *_ in LANGUAGES}
    assert directions == {"en": "ltr", "de": "ltr", "it": "ltr", "ar": "rtl"}


def test_the_switcher_sends_the_reader_back_to_the_page_they_were_on(client):
    page = client.get("/transparency/?x=1", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" class="bare language-switcher[^"]*"[^>]*>(.*?)</form>',
                     page, re.S)
    assert form, "the header holds the switcher's form"
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert '<input type="hidden" name="next" value="/transparency/?x=1">' in form.group(2)
    assert '<label for="header-language" class="sr-only">' in form.group(2)
    response = client.post(form.group(1), {"language": "ar", "next": "/transparency/?x=1"})
    assert response.status_code == 302 and response["Location"] == "/transparency/?x=1"
    assert html_element(client.get("/transparency/").content.decode()) == ("ar", "rtl")
