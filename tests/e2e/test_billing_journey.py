"""The upgrade paid for, in a real browser: the applicant accepts the offer and sees the invoice,
finance records the payment, and the licence becomes commercial."""
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from licensing.services import licences as services
from tests.conftest import ARTIFACTS
from tests.licensing.factories import APPLICATION

pytestmark = pytest.mark.browser

SCREENSHOT = ARTIFACTS / "billing-journey.png"


@pytest.fixture
def offered(alice, rita, adam):
    """A research licence with a commercial offer waiting for the applicant, built through the services."""
    licence = services.licence_create_draft(organisation=alice.membership.organisation, by=alice, accept_terms=True,
                                            **APPLICATION)
    services.licence_submit(licence=licence, by=alice)
    services.licence_approve(licence=licence, by=rita)
    services.licence_request_upgrade(licence=licence, by=alice, intended_use="Ship the model in our product.",
                                     expected_scale="1M images")
    services.licence_make_offer(licence=licence, by=adam, fee="12000.00", currency="EUR", billing_period="annual",
                                term_months=12, scope="Train a commercial segmentation model")
    return licence


def test_the_applicant_accepts_the_offer_and_the_licence_is_commercial_once_finance_records_the_payment(
        offered, logged_in, alice, fiona, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    number = f"INV-{timezone.now().year}-00001"
    licence_path = f"/licences/{offered.pk}/"

    applicant = logged_in(alice)
    applicant.goto(licence_path)
    expect(applicant.locator("#licence-state")).to_have_text("Upgrade offered")
    expect(applicant.locator("#invoices")).to_have_count(0)
    details = applicant.locator("details#action-accept_offer")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    details.get_by_label("I accept the commercial offer above").check()
    details.get_by_role("button", name="Accept the offer").click()

    expect(applicant.locator("#licence-state")).to_have_text("Awaiting payment")
    invoice_row = applicant.locator("#invoices tbody tr")
    expect(invoice_row).to_have_count(1)
    expect(invoice_row).to_contain_text(number)
    expect(invoice_row).to_contain_text("Issued")
    expect(invoice_row).to_contain_text("14,280.00 EUR")
    pdf = applicant.request.get(invoice_row.get_by_role("link", name="PDF").get_attribute("href"))
    assert (pdf.status, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.body().startswith(b"%PDF-")

    finance = logged_in(fiona)
    finance.get_by_role("navigation").get_by_role("link", name="Invoices").click()
    expect(finance.locator("h1")).to_have_text("Invoices")
    finance.get_by_role("link", name=number).click()
    expect(finance.locator("h1")).to_contain_text(f"Invoice {number}")
    expect(finance.locator("#invoice-status")).to_have_text("Issued")
    expect(finance.locator("#balance")).to_have_text("14,280.00 EUR")
    payment = finance.locator("#record-payment")
    expect(payment.get_by_label("Amount")).to_have_value("14280.00")  # what is owed is offered
    payment.get_by_label("Payment reference").fill("SEPA-2026-0042")
    payment.get_by_role("button", name="Record payment").click()

    expect(finance.locator(".messages")).to_contain_text(f"Payment recorded. {number} is paid")
    expect(finance.locator("#invoice-status")).to_have_text("Paid")
    expect(finance.locator("#record-payment")).to_have_count(0)
    finance.get_by_role("link", name=offered.project_title).click()
    expect(finance).to_have_url(re.compile(rf"{licence_path}$"))
    expect(finance.locator("#licence-state")).to_have_text("Commercial active")

    applicant.reload()
    expect(applicant.locator("#licence-state")).to_have_text("Commercial active")
    expect(invoice_row).to_contain_text("Paid")
    expect(applicant.locator("#timeline > li").last).to_contain_text("Fiona (finance): recorded the payment")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    applicant.screenshot(path=SCREENSHOT, full_page=True)
    assert SCREENSHOT.stat().st_size > 0
