"""The documents a licensee downloads: the invoice PDF, drawn from the issued snapshot, and the
licence terms as ODRL JSON-LD from the licence's web endpoints."""
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from pypdf import PdfReader

from licensing.models import Invoice, InvoiceReason, LicencePhase, LicenceState
from licensing.services import billing
from licensing.services.billing import invoice_pdf_store
from tests.licensing.factories import LicenceFactory
from tests.licensing.test_billing import commercial, number, offer_accepted
from tests.licensing.test_terms import VALIDATOR

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def pdf_text(data):
    """The words on the pages, one space between them: table cells and wrapped lines read as one text."""
    assert data.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(data)).pages)


@pytest.fixture
def invoice(org_a, alice, django_capture_on_commit_callbacks):
    """The commercial invoice of an accepted offer, with its PDF rendered by the job after the commit."""
    with django_capture_on_commit_callbacks(execute=True):
        issued = billing.commercial_invoice_issue(licence_id=offer_accepted(org_a, alice).pk)
    issued.refresh_from_db()
    return issued


# --- The PDF ----------------------------------------------------------------------------------

def test_the_pdf_shows_the_number_the_parties_the_lines_and_the_total(invoice, tmp_path):
    assert invoice.pdf == f"invoices/{invoice.year}/{number(1)}.pdf"
    text = pdf_text((tmp_path / invoice.pdf).read_bytes())

    assert f"Invoice {number(1)}" in text
    assert "Tessera Licensing GmbH" in text and "DE999999999" in text
    assert "Acme Vision Ltd" in text and "1 Acme Vision Street" in text and "GB123456789" in text
    assert "12,000.00" in text and "2,280.00" in text
    assert "14,280.00 EUR" in text
    assert f"Please pay 14,280.00 EUR by {invoice.due_date:%d %B %Y}, quoting {number(1)}." in text
    assert "IBAN DE89 3704 0044 0532 0130 00, BIC BELADEBEXXX" in text, "the buyer is told where to pay"


def test_rendering_again_keeps_the_number_and_what_was_billed(invoice, org_a, tmp_path):
    first_render = invoice.pdf_rendered_at
    org_a.legal_name, org_a.vat_id = "Acme Renamed Ltd", "GB000000000"
    org_a.save()

    again = invoice_pdf_store(invoice_id=invoice.pk, force=True)

    invoice.refresh_from_db()
    assert (again.pdf, invoice.number, invoice.display_number) == (f"invoices/{invoice.year}/{number(1)}.pdf", 1,
                                                                   number(1))
    assert invoice.pdf_rendered_at > first_render
    text = pdf_text((tmp_path / invoice.pdf).read_bytes())
    assert f"Invoice {number(1)}" in text and "Acme Vision Ltd" in text and "GB123456789" in text
    assert "Acme Renamed" not in text, "the PDF is drawn from the snapshot, not the organisation as it is now"
    assert sorted(p.name for p in (tmp_path / "invoices" / str(invoice.year)).iterdir()) == [f"{number(1)}.pdf"]


def test_a_credit_note_pdf_names_the_invoice_it_corrects_and_asks_for_no_payment(invoice, fiona, tmp_path):
    note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Offer withdrawn")

    text = pdf_text((tmp_path / invoice_pdf_store(invoice_id=note.pk).pdf).read_bytes())

    assert f"Credit note {number(1, 'CRN')}" in text
    assert f"Corrects {number(1)}" in text
    assert "Reason Offer withdrawn" in text, "the reason finance gave is printed on the note"
    assert "-14,280.00 EUR" in text
    assert "Please pay" not in text


def test_the_buyer_downloads_the_pdf_and_finance_may_too(invoice, client, alice, fiona):
    for user in (alice, fiona):
        client.force_login(user)
        response = client.get(f"/invoices/{invoice.pk}/pdf")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'inline; filename="{number(1)}.pdf"'
        assert f"Invoice {number(1)}" in pdf_text(response.content)


def test_another_organisation_or_a_reviewer_gets_404_and_a_visitor_is_sent_to_log_in(invoice, client, bob, rita):
    for user in (bob, rita):
        client.force_login(user)
        response = client.get(f"/invoices/{invoice.pk}/pdf")
        assert response.status_code == 404
        assert b"%PDF" not in response.content
    client.logout()
    response = client.get(f"/invoices/{invoice.pk}/pdf")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_draft_has_no_pdf_even_for_finance(org_a, alice, client, fiona):
    draft = billing.invoice_draft(licence=offer_accepted(org_a, alice), reason=InvoiceReason.COMMERCIAL,
                                  currency="EUR", lines=[("Commercial licence", Decimal("1"), Decimal("100.00"))])
    client.force_login(fiona)

    assert client.get(f"/invoices/{draft.pk}/pdf").status_code == 404


def test_a_pdf_the_job_has_not_rendered_yet_is_rendered_on_download(org_a, alice, client, tmp_path):
    invoice = billing.commercial_invoice_issue(licence_id=offer_accepted(org_a, alice).pk)  # its job never ran
    assert Invoice.objects.get(pk=invoice.pk).pdf == ""
    client.force_login(alice)

    response = client.get(f"/invoices/{invoice.pk}/pdf")

    assert response.status_code == 200 and f"Invoice {number(1)}" in pdf_text(response.content)
    assert (tmp_path / Invoice.objects.get(pk=invoice.pk).pdf).is_file()


# --- The terms as ODRL -------------------------------------------------------------------------

def research(org, applicant, **fields):
    now = timezone.now()
    values = {"organisation": org, "applicant": applicant, "state": LicenceState.RESEARCH_ACTIVE,
              "phase": LicencePhase.RESEARCH, "max_assets": 100, "max_bytes": 10**9, "max_slices": 3,
              "research_starts_at": now - timedelta(days=10), "research_ends_at": now + timedelta(days=80)}
    values.update(fields)
    return LicenceFactory(**values)


def test_the_terms_endpoints_answer_odrl_that_passes_the_validator(org_a, alice, client, tmp_path):
    research_licence = research(org_a, alice)
    offered = offer_accepted(org_a, alice, state=LicenceState.UPGRADE_OFFERED, offer_accepted_at=None,
                             offer_territory="EU, CH")
    licensed = commercial(org_a, alice, accepted_at=timezone.now() - timedelta(days=5), term_months=24)
    client.force_login(alice)
    documents = {
        "research.jsonld": (f"/licences/{research_licence.pk}/terms.jsonld", "Agreement", "#research-agreement"),
        "offer.jsonld": (f"/licences/{offered.pk}/offer.jsonld", "Offer", "#commercial-offer"),
        "commercial.jsonld": (f"/licences/{licensed.pk}/terms.jsonld", "Agreement", "#commercial-agreement"),
    }

    for name, (url, kind, fragment) in documents.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/ld+json"
        policy = response.json()
        assert (policy["@context"], policy["type"]) == ("http://www.w3.org/ns/odrl.jsonld", kind)
        assert policy["uid"].endswith(fragment)
        assert policy["assignee"]["schema:name"] == "Acme Vision"
        (tmp_path / name).write_text(json.dumps(policy))
    result = subprocess.run([sys.executable, str(VALIDATOR), *(str(tmp_path / name) for name in documents)],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": conforms") == 3 and "DOES NOT CONFORM" not in result.stdout


def test_another_organisations_terms_answer_404(org_a, alice, bob, client):
    licence = offer_accepted(org_a, alice, state=LicenceState.UPGRADE_OFFERED, offer_accepted_at=None)
    client.force_login(bob)

    for url in (f"/licences/{licence.pk}/terms.jsonld", f"/licences/{licence.pk}/offer.jsonld"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Acme" not in response.content


def test_an_application_has_no_terms_yet_and_says_so_in_json(org_a, alice, client):
    application = research(org_a, alice, state=LicenceState.SUBMITTED, phase=LicencePhase.APPLICATION,
                           research_starts_at=None, research_ends_at=None)
    without_offer = research(org_a, alice)
    client.force_login(alice)

    response = client.get(f"/licences/{application.pk}/terms.jsonld")
    assert (response.status_code, response.json()) == (404, {"error": {
        "code": "no_terms", "message": "The licence has no terms until it is approved."}})
    response = client.get(f"/licences/{without_offer.pk}/offer.jsonld")
    assert (response.status_code, response.json()) == (404, {"error": {
        "code": "no_terms", "message": "This licence has no commercial offer."}})
