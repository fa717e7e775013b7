import re

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Organisation, User
from accounts.services import organisation_create
from accounts.vat import FORMATS, normalised_vat_id

pytestmark = pytest.mark.django_db

ORG_FORM = {
    "name": "Pixel Forge",
    "legal_name": "Pixel Forge GmbH",
    "kind": "startup",
    "country": "DE",
    "vat_id": "DE123456789",
    "billing_address": "Torstraße 1\n10119 Berlin",
    "website": "",
}


@pytest.fixture
def kim(client):
    user = User.objects.create_user("kim@example.org", "pw-for-tests-123")
    client.force_login(user)
    return user


def vat_error(response):
    match = re.search(r'<ul class="errorlist" id="id_vat_id_error"><li>(.*?)</li>', response.content.decode())
    return match and match.group(1)


def test_the_organisation_form_offers_the_countries_as_a_select(client, kim):
    page = client.get("/organisation/new/").content.decode()
    select = re.search(r'<select name="country"[^>]*>(.*?)</select>', page, re.S)
    assert select, "country is a select"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    assert options[0] == ("", "Choose a country")
    assert ("GB", "United Kingdom") in options and ("DE", "Germany") in options and ("US", "United States of America") in options
    assert len(options) > 240


def test_the_chosen_country_is_saved_as_its_code_and_shown_again(client, kim):
    response = client.post("/organisation/new/", {**ORG_FORM, "country": "DE"})
    assert response.status_code == 302
    organisation = Organisation.objects.get()
    assert organisation.country == "DE" and organisation.country.name == "Germany"
    assert Organisation.objects.filter(country="DE").count() == 1
    assert "<dt>Country</dt><dd>DE</dd>" in client.get("/organisation/").content.decode()


def test_a_country_that_is_not_in_the_list_is_refused(client, kim):
    response = client.post("/organisation/new/", {**ORG_FORM, "country": "XX"})
    assert response.status_code == 200
    assert "“XX” is not a two-letter ISO 3166 country code" in response.content.decode()
    assert Organisation.objects.count() == 0


@pytest.mark.parametrize("typed", ["=1+1", "@SUM(1+1)", "+49 30 1234", "DE12345678", "DE1234567890", "FR123456789"])
def test_a_vat_id_not_shaped_like_a_german_one_is_refused_with_the_form_to_use(client, kim, typed):
    response = client.post("/organisation/new/", {**ORG_FORM, "vat_id": typed})
    assert response.status_code == 200
    assert vat_error(response) == ("That is not a VAT id of the form used for Germany "
                                   "(DE followed by 9 digits, e.g. DE123456789).")
    assert Organisation.objects.count() == 0


@pytest.mark.parametrize("typed", ["=1+1", "@SUM(1+1)", "-2+3", "AB1", "12345678901234567890X"])
def test_outside_the_eu_and_uk_a_vat_id_is_letters_and_digits_only(client, kim, typed):
    response = client.post("/organisation/new/", {**ORG_FORM, "country": "US", "vat_id": typed})
    assert response.status_code == 200
    assert vat_error(response).startswith("A VAT id is 4 to 20 letters and digits")
    assert Organisation.objects.count() == 0


@pytest.mark.parametrize(("country", "typed", "stored"), [
    ("DE", "DE123456789", "DE123456789"),
    ("DE", "de 123 456 789", "DE123456789"),
    ("DE", "123456789", "DE123456789"),
    ("IT", "IT12345670017", "IT12345670017"),
    ("FR", "FR12345678901", "FR12345678901"),
    ("FR", "FRXX123456789", "FRXX123456789"),
    ("GR", "EL123456789", "EL123456789"),
    ("NL", "NL123456789B01", "NL123456789B01"),
    ("AT", "ATU12345678", "ATU12345678"),
    ("GB", "GB123456789", "GB123456789"),
    ("GB", "GB123456789012", "GB123456789012"),
    ("GB", "GBGD001", "GBGD001"),
    ("GB", "GBHA599", "GBHA599"),
    ("GB", "XI123456789", "XI123456789"),
    ("CH", "CHE-123.456.789 MWST", "CHE123456789MWST"),
    ("US", "12-3456789", "123456789"),
])
def test_vat_ids_of_the_right_form_are_accepted_and_stored_compact(client, kim, country, typed, stored):
    response = client.post("/organisation/new/", {**ORG_FORM, "country": country, "vat_id": typed})
    assert response.status_code == 302, vat_error(response)
    assert Organisation.objects.get().vat_id == stored


def test_an_organisation_without_a_vat_id_is_still_allowed(client, kim):
    response = client.post("/organisation/new/", {**ORG_FORM, "vat_id": ""})
    assert response.status_code == 302
    assert Organisation.objects.get().vat_id == ""


def test_the_service_refuses_a_formula_whoever_calls_it(kim):
    with pytest.raises(ValidationError, match="DE followed by 9 digits"):
        organisation_create(by=kim, name="Pixel Forge", legal_name="Pixel Forge GmbH", country="DE",
                            billing_address="Berlin", vat_id="=1+1")
    assert Organisation.objects.count() == 0


def test_the_model_refuses_it_too_so_the_admin_does(org_a):
    org_a.vat_id = "@SUM(1+1)"
    with pytest.raises(ValidationError) as refused:
        org_a.full_clean()
    assert list(refused.value.message_dict) == ["vat_id"]


def test_the_test_organisations_vat_id_is_of_the_uk_form(org_a):
    assert normalised_vat_id(org_a.vat_id, org_a.country) == "GB123456789"


@pytest.mark.parametrize("country", sorted(FORMATS))
def test_every_example_the_refusal_gives_is_itself_accepted(country):
    prefix, described, example = FORMATS[country]
    assert normalised_vat_id(example, country) == example
    assert described.startswith(prefix)
