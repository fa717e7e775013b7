"""The offer's usage terms: an attribution rate (by default the royalty share) and a reporting duty."""
import html
from decimal import Decimal

import pytest

from licensing.models import Licence
from licensing.services.licences import licence_make_offer
from licensing.workflow import LicenceActionRefused
from tests.licensing.test_offer_disclosure import upgrade_requested

OFFER = {"make_offer-fee": "1000.00", "make_offer-currency": "EUR", "make_offer-billing_period": "one_off",
         "make_offer-term_months": "12", "make_offer-scope": "Products", "make_offer-territory": "Worldwide"}


def test_the_offer_form_sets_the_rate_and_the_duty_and_the_licence_page_shows_them(client_for, org_a, alice, adam):
    licence = upgrade_requested(org_a, alice)
    response = client_for(adam).post(f"/licences/{licence.pk}/make_offer/", {
        **OFFER, "make_offer-version": licence.version, "make_offer-attribution_rate": "12.5",
        "make_offer-reporting_period": "monthly", "make_offer-reporting_days": "10"})
    assert response.status_code == 302
    licence.refresh_from_db()
    assert (licence.offer_attribution_rate, licence.offer_reporting_period, licence.offer_reporting_days) == (
        Decimal("0.1250"), "monthly", 10)
    page = html.unescape(client_for(alice).get(f"/licences/{licence.pk}/").content.decode())
    assert "12.5% of the revenue each usage report declares" in page
    assert "reported monthly, within 10 days of each period's end" in page
    assert licence.events.last().payload["attribution_rate"] == "0.1250"


def test_an_offer_that_says_nothing_takes_the_royalty_share_quarterly(client_for, org_a, alice, adam, settings):
    licence = upgrade_requested(org_a, alice)
    client_for(adam).post(f"/licences/{licence.pk}/make_offer/", {**OFFER, "make_offer-version": licence.version})
    licence.refresh_from_db()
    assert licence.offer_attribution_rate == settings.ROYALTY_SHARE
    assert (licence.offer_reporting_period, licence.offer_reporting_days) == ("quarterly", 30)


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "0.12345", "NaN"])
def test_a_rate_outside_zero_to_one_is_refused(org_a, alice, adam, rate):
    licence = upgrade_requested(org_a, alice)
    with pytest.raises(LicenceActionRefused, match="attribution rate must be from 0 to 1"):
        licence_make_offer(licence=licence, by=adam, fee="10", currency="EUR", billing_period="one_off",
                           term_months=12, scope="x", attribution_rate=rate)
    assert Licence.objects.get(pk=licence.pk).state == "upgrade_requested"
