"""The commercial offer's disclosure term: set in the offer form, shown on the licence, kept through payment."""
import html

from licensing.models import Licence
from licensing.services.licences import licence_make_offer
from licensing.workflow import LicenceActionRefused
from tests.licensing.factories import research_licence


def upgrade_requested(org_a, alice):
    return research_licence(organisation=org_a, applicant=alice, state="upgrade_requested",
                            upgrade_intended_use="Ship it.", upgrade_expected_scale="1M images")


def test_the_offer_form_sets_the_disclosure_and_the_licence_page_shows_it(client_for, org_a, alice, adam):
    licence = upgrade_requested(org_a, alice)
    client = client_for(adam)

    response = client.post(f"/licences/{licence.pk}/make_offer/", {
        "make_offer-version": licence.version, "make_offer-fee": "1000.00", "make_offer-currency": "EUR",
        "make_offer-billing_period": "one_off", "make_offer-term_months": "12", "make_offer-scope": "Products",
        "make_offer-territory": "Worldwide", "make_offer-disclosure": "public"})

    assert response.status_code == 302
    licence.refresh_from_db()
    assert licence.state == "upgrade_offered" and licence.offer_disclosure == "public"
    page = html.unescape(client_for(alice).get(f"/licences/{licence.pk}/").content.decode())
    assert '<dd id="offer-disclosure">A public model page</dd>' in page
    assert licence.events.last().payload["disclosure"] == "public"


def test_an_unknown_disclosure_is_refused(org_a, alice, adam):
    licence = upgrade_requested(org_a, alice)
    try:
        licence_make_offer(licence=licence, by=adam, fee="10", currency="EUR", billing_period="one_off",
                           term_months=12, scope="x", disclosure="billboard")
    except LicenceActionRefused as refusal:
        assert "disclosure of trained models must be one of public, licensor, none" in str(refusal)
    else:
        raise AssertionError("an unknown disclosure was accepted")
    assert Licence.objects.get(pk=licence.pk).state == "upgrade_requested"


def test_an_offer_posted_without_a_disclosure_asks_for_none(client_for, org_a, alice, adam):
    licence = upgrade_requested(org_a, alice)

    response = client_for(adam).post(f"/licences/{licence.pk}/make_offer/", {
        "make_offer-version": licence.version, "make_offer-fee": "1000.00", "make_offer-currency": "EUR",
        "make_offer-billing_period": "one_off", "make_offer-term_months": "12", "make_offer-scope": "Products",
        "make_offer-territory": "Worldwide"})

    assert response.status_code == 302
    licence.refresh_from_db()
    assert (licence.state, licence.offer_disclosure) == ("upgrade_offered", "none")
