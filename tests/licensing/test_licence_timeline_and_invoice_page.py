"""The licence page follows background work by itself, its timeline shows every event of the
licence, and the licensee has an invoice page of its own."""
import html
import re

import pytest

from licensing import jobs
from licensing.models import Job
from licensing.services import billing
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import ContributorFactory, catalogue, research_licence
from tests.licensing.test_billing import offer_accepted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def words(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(response.content.decode())))


def test_while_the_invoice_job_waits_the_page_polls_and_the_invoice_appears_without_a_reload(client_for, org_a,
                                                                                                alice):
    licence = offer_accepted(org_a, alice)
    jobs.schedule("invoice.issue_commercial", licence_id=licence.pk, dedupe=f"test:{licence.pk}")  # not run yet
    client = client_for(alice)
    page = client.get(f"/licences/{licence.pk}/").content.decode()
    assert f'hx-get="/licences/{licence.pk}/live/?show=all"' in page and 'hx-trigger="every 2s"' in page
    assert 'id="invoices"' not in page

    billing.commercial_invoice_issue(licence_id=licence.pk)  # what the worker does
    Job.objects.filter(name="invoice.issue_commercial").update(state="done")
    live = client.get(f"/licences/{licence.pk}/live/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="invoices"' in live and "14,280.00 EUR" in live
    assert "hx-trigger" not in live.split('id="licence-live"')[1].split(">")[0], "polling stops once the work is done"
    assert 'id="licence-state" hx-swap-oob="true"' in live
    assert "Invoice INV-" in words(client.get(f"/licences/{licence.pk}/live/"))


def test_the_live_part_is_another_organisations_404(client_for, org_a, alice, bob):
    licence = offer_accepted(org_a, alice)
    assert client_for(bob).get(f"/licences/{licence.pk}/live/").status_code == 404


def test_the_timeline_shows_slices_withdrawals_invoices_and_payments_and_filters_them(client_for, org_a, alice,
                                                                                       fiona):
    licence = offer_accepted(org_a, alice, state="awaiting_payment")
    leaving = ContributorFactory()
    catalogue(4, contributor=leaving)
    licence.state = "research_active"
    licence.save()
    slice_ = slice_request(licence=licence, by=alice, size=4, seed=3)
    slice_build(slice_id=slice_.pk)
    contributor_set_opt_out(contributor=leaving, opted_out=True, by=None, note="")
    licence.state = "awaiting_payment"
    licence.save()
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    billing.invoice_pdf_store(invoice_id=invoice.pk)
    billing.payment_record(invoice=invoice, by=fiona, amount=invoice.gross_total, received_on="2026-12-01",
                           reference="SEPA-1")
    client = client_for(alice)
    everything = words(client.get(f"/licences/{licence.pk}/"))
    for text in ("requested a slice of 4 works", "Slice 1 is ready: 4 works granted",
                 "4 works withdrawn from slice 1: a contributor opted out of AI training",
                 f"Invoice {invoice.display_number} issued: 14,280.00 EUR, due {invoice.due_date.day} {invoice.due_date:%b %Y}",
                 f"The PDF of {invoice.display_number} is ready",
                 f"recorded a payment of 14280.00 for {invoice.display_number}", "recorded the payment"):
        assert text in everything, text
    only_billing = words(client.get(f"/licences/{licence.pk}/?show=billing")).split("Timeline", 1)[1]
    assert "Invoice INV-" in only_billing and "Slice 1 is ready" not in only_billing
    only_withdrawals = words(client.get(f"/licences/{licence.pk}/?show=withdrawals")).split("Timeline", 1)[1]
    assert "4 works withdrawn" in only_withdrawals and "Invoice INV-" not in only_withdrawals
    assert client.get(f"/licences/{licence.pk}/?show=<script>").status_code == 200


def test_the_licensee_sees_its_invoice_with_lines_vat_totals_and_how_to_pay(client_for, org_a, alice, bob):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    client = client_for(alice)
    licence_page = client.get(f"/licences/{licence.pk}/").content.decode()
    assert f'href="/invoices/{invoice.pk}/"' in licence_page
    text = words(client.get(f"/invoices/{invoice.pk}/"))
    assert f"Invoice {invoice.display_number} Issued" in text
    assert "Net 12,000.00 EUR" in text and "VAT 19% 2,280.00 EUR" in text and "Total 14,280.00 EUR" in text
    assert "How to pay" in text and "IBAN DE89 3704 0044 0532 0130 00" in text
    assert f"Reference {invoice.display_number}" in text
    assert f'href="/invoices/{invoice.pk}/pdf"' in client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert client_for(bob).get(f"/invoices/{invoice.pk}/").status_code == 404
    assert client_for(bob).get("/invoices/999999/").status_code == 404


def test_a_research_licence_page_without_pending_work_does_not_poll(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    page = client_for(alice).get(f"/licences/{licence.pk}/").content.decode()
    assert "every 2s" not in page.split('id="slice-request"')[0]
