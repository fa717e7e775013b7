"""Finance's pages: the invoice list and its filters, an invoice, recording payments, credit notes,
the monthly CSV; and the invoices an applicant sees on the licence page."""
import csv
import io
import re
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone

from licensing.models import Invoice, InvoiceReason, Payment
from licensing.services import billing
from tests.licensing.test_billing import number, offer_accepted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def licence(org_a, alice):
    return offer_accepted(org_a, alice)


@pytest.fixture
def invoice(licence):
    return billing.commercial_invoice_issue(licence_id=licence.pk)


def page(response):
    return response.content.decode()


def numbers_listed(response):
    """The invoice numbers in the list, in the order shown."""
    return re.findall(r'<a href="/finance/invoices/\d+/">([A-Z]+-\d{4}-\d{5})</a>', page(response))


def payment(amount, reference="SEPA-123", received_on="2026-11-20", method="bank_transfer"):
    return {"amount": amount, "received_on": received_on, "reference": reference, "method": method}


# --- Who may see them -------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/finance/invoices/", "/finance/invoices/{pk}/", "/finance/export.csv?period=2026-11"])
def test_applicants_and_reviewers_are_refused_finance_pages(url, invoice, client, alice, rita):
    for user in (alice, rita):
        client.force_login(user)
        response = client.get(url.format(pk=invoice.pk))
        assert response.status_code == 403
        assert "This page is for licensor staff." in page(response)
        assert invoice.display_number not in page(response)


def test_only_finance_records_payments_and_credit_notes(invoice, client, alice, adam):
    for user in (alice, adam):
        client.force_login(user)
        assert client.post(f"/finance/invoices/{invoice.pk}/payments/", payment("14280.00")).status_code == 403
        assert client.post(f"/finance/invoices/{invoice.pk}/credit-notes/", {"reason": "x"}).status_code == 403
    assert not Payment.objects.exists()
    assert Invoice.objects.count() == 1


def test_a_licensor_admin_sees_the_invoice_but_no_payment_form(invoice, client, adam):
    client.force_login(adam)

    response = client.get(f"/finance/invoices/{invoice.pk}/")

    assert response.status_code == 200 and invoice.display_number in page(response)
    assert 'id="record-payment"' not in page(response) and 'id="credit-note"' not in page(response)


def test_a_visitor_is_sent_to_log_in(client):
    response = client.get("/finance/invoices/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- The list ------------------------------------------------------------------------------------

def test_the_list_filters_by_status_series_and_period(licence, client, fiona):
    january = datetime(timezone.now().year, 1, 15, 10, tzinfo=dt_timezone.utc)

    def issue(amount, now=None):
        draft = billing.invoice_draft(licence=licence, reason=InvoiceReason.COMMERCIAL, currency="EUR",
                                      lines=[("Commercial licence", Decimal("1"), Decimal(amount))])
        return billing.invoice_issue(invoice=draft, now=now)

    old = issue("50.00", now=january)
    unpaid = issue("100.00")
    paid = issue("200.00")
    billing.payment_record(invoice=paid, by=fiona, amount=paid.gross_total, received_on=timezone.now().date(),
                           reference="SEPA-9")
    note = billing.credit_note_issue(invoice=unpaid, by=fiona, reason="Mistake", amount=Decimal("10.00"))
    billing.invoice_draft(licence=licence, reason=InvoiceReason.COMMERCIAL, currency="EUR",
                          lines=[("Not issued", Decimal("1"), Decimal("1.00"))])
    client.force_login(fiona)
    this_month = f"{timezone.now():%Y-%m}"

    everything = client.get("/finance/invoices/")
    assert everything.status_code == 200
    assert numbers_listed(everything) == [note.display_number, paid.display_number, unpaid.display_number,
                                          old.display_number], "newest first, drafts left out"
    assert numbers_listed(client.get("/finance/invoices/?status=paid")) == [paid.display_number]
    assert numbers_listed(client.get("/finance/invoices/?status=issued&series=inv")) == [
        unpaid.display_number, old.display_number]
    assert numbers_listed(client.get("/finance/invoices/?series=CRN")) == [note.display_number]
    assert numbers_listed(client.get(f"/finance/invoices/?period={january:%Y-%m}")) == [old.display_number]
    assert numbers_listed(client.get(f"/finance/invoices/?period={this_month}&series=INV")) == [
        paid.display_number, unpaid.display_number]
    assert "No invoices match." in page(client.get("/finance/invoices/?period=1999-01"))

    wrong = client.get("/finance/invoices/?period=2026-13")
    assert 'id="id_period_error"' in page(wrong) and "Use YYYY-MM, e.g. 2026-11." in page(wrong)


# --- One invoice ---------------------------------------------------------------------------------

def test_the_invoice_page_shows_what_was_billed_and_what_is_owed(invoice, client, fiona):
    client.force_login(fiona)

    response = client.get(f"/finance/invoices/{invoice.pk}/")

    text = page(response)
    assert response.status_code == 200
    assert f"Invoice {number(1)}" in text and 'id="invoice-status">Issued<' in text
    assert "Acme Vision Ltd" in text and "VAT id GB123456789" in text
    assert "12,000.00" in text and "2,280.00" in text and "14,280.00 EUR" in text
    assert 'id="balance">14,280.00 EUR<' in text
    assert 'id="record-payment"' in text and 'value="14280.00"' in text, "the amount owed is offered"
    assert f'href="/invoices/{invoice.pk}/pdf"' in text


def test_the_payment_form_offers_today_and_each_form_labels_its_own_amount(invoice, client, fiona):
    client.force_login(fiona)

    text = page(client.get(f"/finance/invoices/{invoice.pk}/"))

    assert f'type="date" name="received_on" value="{timezone.now().date().isoformat()}"' in text
    assert [(for_, label.strip()) for for_, label in re.findall(r'<label for="(id_[a-z_]*amount)">([^<]*)', text)] == [
        ("id_amount", "Amount"), ("id_credit_amount", "Amount to credit, tax included")]
    ids = re.findall(r' id="([^"]+)"', text)
    assert sorted(set(ids)) == sorted(ids), "no two elements share an id"


def test_recording_the_full_payment_marks_the_invoice_paid_and_the_licence_commercial(invoice, licence, client,
                                                                                       fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/payments/", payment("14280.00"), follow=True)

    assert response.redirect_chain == [(f"/finance/invoices/{invoice.pk}/", 302)]
    text = page(response)
    assert f"Payment recorded. {number(1)} is paid; 0.00 EUR still owed." in text
    assert 'id="invoice-status">Paid<' in text and "20 Nov 2026: 14,280.00 EUR (Bank transfer, SEPA-123)" in text
    assert 'id="record-payment"' not in text
    licence.refresh_from_db()
    assert licence.state == "commercial_active"
    assert list(Payment.objects.values_list("amount", "reference", "recorded_by")) == [
        (Decimal("14280.00"), "SEPA-123", fiona.pk)]


def test_a_part_payment_leaves_the_rest_owed(invoice, licence, client, fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/payments/", payment("4280.00"), follow=True)

    assert f"Payment recorded. {number(1)} is issued; 10000.00 EUR still owed." in page(response)
    assert 'id="balance">10,000.00 EUR<' in page(response)
    licence.refresh_from_db()
    assert licence.state == "awaiting_payment"


def test_an_overpayment_is_refused_with_the_message_under_the_amount(invoice, client, fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/payments/", payment("14280.01"))

    assert response.status_code == 400
    assert (f'<ul class="errorlist" id="id_amount_error"><li>14280.01 EUR is more than the 14280.00 EUR still owed '
            f'on {number(1)}: record the payment in part or refund the difference.</li></ul>') in page(response)
    assert 'value="SEPA-123"' in page(response), "what finance typed is kept"
    assert not Payment.objects.exists()


def test_a_payment_without_a_reference_is_refused_next_to_the_field(invoice, client, fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/payments/", payment("100.00", reference=""))

    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_reference_error"><li>This field is required.</li></ul>' in page(response)
    assert not Payment.objects.exists()


def test_a_payment_posted_from_a_stale_page_shows_why_it_was_refused(invoice, client, fiona):
    billing.payment_record(invoice=invoice, by=fiona, amount=invoice.gross_total, received_on=timezone.now().date(),
                           reference="SEPA-1")
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/payments/", payment("14280.00", reference="SEPA-2"))

    assert response.status_code == 400
    assert "more than the 0.00 EUR still owed" in page(response), "the refusal is shown, not swallowed"
    assert Payment.objects.count() == 1


# --- Credit notes --------------------------------------------------------------------------------

def test_a_full_credit_note_from_the_page_voids_the_invoice(invoice, client, fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/credit-notes/", {"reason": "Offer withdrawn"},
                           follow=True)

    text = page(response)
    assert response.redirect_chain == [(f"/finance/invoices/{invoice.pk}/", 302)]
    assert f"Credit note {number(1, 'CRN')} issued for -14280.00 EUR." in text
    assert 'id="invoice-status">Void<' in text and f"{number(1, 'CRN')}</a>: -14,280.00 EUR" in text
    assert 'id="record-payment"' not in text and 'id="credit-note"' not in text

    again = client.post(f"/finance/invoices/{invoice.pk}/credit-notes/", {"reason": "Again"})
    assert again.status_code == 400
    assert f"Only issued or paid invoices can be credited; {number(1)} is void." in page(again)
    assert Invoice.objects.filter(kind="credit_note").count() == 1


def test_a_partial_credit_from_the_page_lowers_what_is_owed(invoice, client, fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/credit-notes/",
                           {"reason": "Launch discount", "amount": "1000.00"}, follow=True)

    text = page(response)
    assert f"Credit note {number(1, 'CRN')} issued for -1000.00 EUR." in text
    assert 'id="invoice-status">Issued<' in text and 'id="balance">13,280.00 EUR<' in text


def test_a_credit_note_without_a_reason_is_refused_next_to_the_field(invoice, client, fiona):
    client.force_login(fiona)

    response = client.post(f"/finance/invoices/{invoice.pk}/credit-notes/", {"reason": "", "amount": ""})

    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_credit_reason_error"><li>This field is required.</li></ul>' in page(response)
    assert Invoice.objects.count() == 1


# --- The CSV for the books -------------------------------------------------------------------------

def test_the_monthly_csv_has_the_invoices_credit_notes_and_payments_of_that_month(invoice, client, fiona):
    today = timezone.now().date()
    billing.payment_record(invoice=invoice, by=fiona, amount=Decimal("4280.00"), received_on=today,
                           reference="SEPA-77")
    note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Discount", amount=Decimal("119.00"))
    client.force_login(fiona)

    response = client.get(f"/finance/export.csv?period={today:%Y-%m}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="tessera-{today:%Y-%m}.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["record", "number", "kind", "issued_or_received", "organisation", "vat_id", "currency", "net", "tax",
         "gross", "status", "reference", "corrects"],
        ["invoice", number(1), "invoice", today.isoformat(), "Acme Vision Ltd", "GB123456789", "EUR", "12000.00",
         "2280.00", "14280.00", "issued", "", ""],
        ["invoice", note.display_number, "credit_note", today.isoformat(), "Acme Vision Ltd", "GB123456789", "EUR",
         "-100.00", "-19.00", "-119.00", "issued", "", number(1)],
        ["payment", number(1), "payment", today.isoformat(), "Acme Vision Ltd", "GB123456789", "EUR", "", "",
         "4280.00", "", "SEPA-77", ""],
    ]


def test_the_csv_of_another_month_is_empty_and_a_bad_period_says_what_to_write(invoice, client, fiona):
    client.force_login(fiona)

    empty = client.get("/finance/export.csv?period=2001-01")
    assert len(b"".join(empty.streaming_content).decode().splitlines()) == 1, "the header only"
    wrong = client.get("/finance/export.csv?period=last-month")
    assert (wrong.status_code, wrong.content.decode()) == (400, "Give the period as YYYY-MM, e.g. ?period=2026-11.")


# --- The applicant's view -------------------------------------------------------------------------

def test_the_applicant_sees_the_invoice_on_the_licence_page_with_a_pdf_link(invoice, licence, client, alice):
    client.force_login(alice)

    text = page(client.get(f"/licences/{licence.pk}/"))

    assert 'id="invoices"' in text and number(1) in text
    assert "Issued" in text and "14,280.00 EUR" in text
    assert f'<a href="/invoices/{invoice.pk}/pdf">PDF</a>' in text
    assert f"/finance/invoices/{invoice.pk}/" not in text, "no link to finance's page"
    assert "Pay the invoice: the licence becomes commercial when it is paid." in text


def test_the_licence_page_shows_what_is_left_after_a_part_payment(invoice, licence, client, alice, fiona):
    billing.payment_record(invoice=invoice, by=fiona, amount=Decimal("280.00"), received_on=timezone.now().date(),
                           reference="SEPA-1")
    client.force_login(alice)

    assert "14,000.00 still owed" in page(client.get(f"/licences/{licence.pk}/"))


def test_finance_reaches_the_invoice_from_the_licence_page(invoice, licence, client, fiona):
    client.force_login(fiona)

    assert f'<a href="/finance/invoices/{invoice.pk}/">{number(1)}</a>' in page(client.get(f"/licences/{licence.pk}/"))


def test_another_organisation_sees_neither_the_licence_nor_its_invoices(invoice, licence, client, bob):
    client.force_login(bob)

    assert client.get(f"/licences/{licence.pk}/").status_code == 404
    assert number(1) not in page(client.get("/licences/"))


def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted_and_numbers_stay_numbers(licence, client, fiona):
    today = timezone.now().date()
    type(licence.organisation).objects.filter(pk=licence.organisation_id).update(legal_name="=1+1")
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    billing.payment_record(invoice=invoice, by=fiona, amount=Decimal("4280.00"), received_on=today,
                           reference="=cmd|' /C calc'!A0")
    billing.credit_note_issue(invoice=invoice, by=fiona, reason="Discount", amount=Decimal("119.00"))
    client.force_login(fiona)

    response = client.get(f"/finance/export.csv?period={today:%Y-%m}")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=1+1" in cells and "'=cmd|' /C calc'!A0" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
    assert "-119.00" in cells, "a negative amount is a number, not a formula"


@pytest.mark.parametrize("period, told", [
    ("9999-12", "Give a year from 2000 to 9998: Tessera keeps no books for 9999."),
    ("99999999999-01", "Give the period as YYYY-MM, e.g. ?period=2026-11."),
    ("2026-13", "Give the period as YYYY-MM, e.g. ?period=2026-11."),
    ("0-1", "Give the period as YYYY-MM, e.g. ?period=2026-11."),
    ("", "Give the period as YYYY-MM, e.g. ?period=2026-11."),
])
def test_a_period_no_calendar_here_holds_is_refused_with_what_to_write(client, fiona, period, told):
    client.force_login(fiona)

    response = client.get(f"/finance/export.csv?period={period}")

    assert (response.status_code, response.content.decode()) == (400, told)
