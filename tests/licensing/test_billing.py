"""Invoices, payments and credit notes: numbering, duplicated jobs, immutability, credit notes, rounding."""
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from licensing import tasks
from licensing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceReason,
    InvoiceStatus,
    LicencePhase,
    LicenceState,
    Payment,
)
from licensing.services import billing
from licensing.services import licences as licence_services
from licensing.services.billing import BillingRefused
from tests.licensing.factories import LicenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Issuing renders PDFs (on commit, or at once in the renewal job): into the test's folder, not var/media."""
    settings.MEDIA_ROOT = tmp_path


def number(n, series="INV"):
    return f"{series}-{timezone.now().year}-{n:05d}"


def offer_accepted(organisation, applicant, *, fee="12000.00", billing_period="annual", term_months=12,
                   accepted_at=None, **fields):
    """A licence whose commercial offer was accepted and is waiting for its invoice to be paid."""
    accepted_at = accepted_at or timezone.now()
    values = {
        "organisation": organisation, "applicant": applicant,
        "state": LicenceState.AWAITING_PAYMENT, "phase": LicencePhase.RESEARCH,
        "max_assets": 100, "max_bytes": 10**9, "max_slices": 3,
        "research_starts_at": accepted_at - timedelta(days=30), "research_ends_at": accepted_at + timedelta(days=60),
        "offer_fee": Decimal(fee), "offer_currency": "EUR", "offer_billing_period": billing_period,
        "offer_term_months": term_months, "offer_scope": "Train a commercial segmentation model",
        "offer_territory": "Worldwide", "offer_made_at": accepted_at - timedelta(days=1),
        "offer_accepted_at": accepted_at,
    }
    values.update(fields)
    return LicenceFactory(**values)


def commercial(organisation, applicant, *, accepted_at, term_months=36, **fields):
    """A commercial licence paid a day after its offer was accepted, billed every year."""
    starts = accepted_at + timedelta(days=1)
    return offer_accepted(organisation, applicant, accepted_at=accepted_at, term_months=term_months,
                          state=LicenceState.COMMERCIAL_ACTIVE, phase=LicencePhase.COMMERCIAL,
                          commercial_starts_at=starts, commercial_ends_at=starts + relativedelta(months=term_months),
                          **fields)


def issued(licence, *lines, tax_rate=None):
    draft = billing.invoice_draft(
        licence=licence, reason=InvoiceReason.COMMERCIAL, currency="EUR", tax_rate=tax_rate,
        lines=list(lines) or [("Commercial licence", Decimal("1"), Decimal("100.00"))],
    )
    return billing.invoice_issue(invoice=draft)


def pay(invoice, by, amount, reference="SEPA-1"):
    return billing.payment_record(invoice=invoice, by=by, amount=Decimal(amount), received_on=timezone.now().date(),
                                  reference=reference)


def line_rows(invoice):
    return [(line.description, line.quantity, line.unit_price, line.net_amount, line.tax_amount, line.gross_amount)
            for line in InvoiceLine.objects.filter(invoice=invoice).order_by("position")]


# --- Numbers ----------------------------------------------------------------------

def test_a_draft_has_no_number_and_issuing_gives_the_next_one_in_its_series(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    draft = billing.invoice_draft(licence=licence, reason=InvoiceReason.COMMERCIAL, currency="EUR",
                                  lines=[("Commercial licence", Decimal("1"), Decimal("100.00"))])
    assert draft.number is None and draft.status == InvoiceStatus.DRAFT
    assert draft.display_number == f"Draft invoice #{draft.pk}"

    first = billing.invoice_issue(invoice=draft)
    second = issued(licence)
    note = billing.credit_note_issue(invoice=first, by=fiona, reason="Issued by mistake")
    third = issued(licence)

    assert [first.display_number, second.display_number, third.display_number] == [number(1), number(2), number(3)]
    assert note.display_number == number(1, "CRN"), "credit notes count in their own series"
    assert first.issuer["name"] == "Tessera Licensing GmbH"
    assert first.buyer == {"name": "Acme Vision Ltd", "address": "1 Acme Vision Street\nLondon", "country": "GB",
                           "vat_id": "GB123456789"}
    assert first.due_date == first.issued_at.date() + timedelta(days=14)


def test_an_invoice_cannot_be_issued_twice(org_a, alice):
    invoice = issued(offer_accepted(org_a, alice))

    with pytest.raises(BillingRefused, match=f"{number(1)} is already issued"):
        billing.invoice_issue(invoice=invoice)

    assert Invoice.objects.get().number == 1


def test_a_rolled_back_issue_leaves_no_gap_the_next_invoice_takes_its_number(org_a, alice):
    licence = offer_accepted(org_a, alice)
    issued(licence)

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            lost = issued(licence)
            assert lost.number == 2
            raise RuntimeError("the request failed after the invoice was numbered")
    following = issued(licence)

    assert not Invoice.objects.filter(pk=lost.pk).exists()
    assert following.display_number == number(2)
    assert list(Invoice.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


# --- A job delivered twice ------------------------------------------------------------

def test_accepting_the_offer_issues_the_commercial_invoice_once_the_acceptance_is_committed(
        org_a, alice, django_capture_on_commit_callbacks):
    licence = offer_accepted(org_a, alice, state=LicenceState.UPGRADE_OFFERED, offer_accepted_at=None)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        licence_services.licence_accept_offer(licence=licence, by=alice)
    assert not Invoice.objects.exists(), "the invoice job waits for the commit"
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    invoice = licence.invoices.get()
    start = licence.offer_accepted_at.date()
    assert (invoice.display_number, invoice.status, invoice.reason) == (number(1), "issued", "commercial")
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("12000.00"), Decimal("2280.00"), Decimal("14280.00"))
    assert (invoice.period_start, invoice.period_end) == (start, start + relativedelta(years=1) - timedelta(days=1))
    assert [m.subject for m in mail.outbox if m.to == ["alice@acme.example"] and "Invoice" in m.subject] == [
        f"[Tessera] Invoice {number(1)}: 14,280.00 EUR"]


def test_the_commercial_invoice_job_delivered_twice_issues_one_invoice(
        org_a, alice, django_capture_on_commit_callbacks):
    licence = offer_accepted(org_a, alice)

    with django_capture_on_commit_callbacks(execute=True):
        first = billing.commercial_invoice_issue(licence_id=licence.pk)
        again = billing.commercial_invoice_issue(licence_id=licence.pk)
        tasks.issue_commercial_invoice.delay(licence.pk)
        tasks.issue_commercial_invoice.delay(licence.pk)

    assert again.pk == first.pk
    assert list(Invoice.objects.values_list("number", flat=True)) == [1]
    invoice_mails = [m for m in mail.outbox if "Invoice" in m.subject]
    assert [m.to for m in invoice_mails] == [["alice@acme.example"]], "the buyer hears of the invoice once"


def test_the_research_fee_job_delivered_twice_issues_one_invoice(org_a, alice, settings):
    settings.RESEARCH_FEE = Decimal("500.00")
    licence = offer_accepted(org_a, alice, state=LicenceState.RESEARCH_ACTIVE)

    first = billing.research_fee_invoice_issue(licence_id=licence.pk)
    tasks.issue_research_fee_invoice.delay(licence.pk)

    fee = Invoice.objects.get()
    assert fee.pk == first.pk
    assert (fee.reason, fee.gross_total) == ("research_fee", Decimal("595.00"))


def test_renewals_run_twice_issue_one_invoice_per_annual_period(org_a, alice):
    accepted = timezone.now() - relativedelta(years=1, days=10)  # the second year began ten days ago
    licence = commercial(org_a, alice, accepted_at=accepted, term_months=36)
    billing.commercial_invoice_issue(licence_id=licence.pk)
    today = timezone.now().date()

    assert billing.renewal_invoices_issue(today=today) == 1
    assert billing.renewal_invoices_issue(today=today) == 0
    tasks.issue_renewal_invoices.delay()
    assert billing.renewal_invoices_issue(today=today + relativedelta(years=1)) == 1, "the third year"
    assert billing.renewal_invoices_issue(today=today + relativedelta(years=2)) == 0, "the term is over"

    second_year = accepted.date() + relativedelta(years=1)
    renewals = licence.invoices.filter(reason=InvoiceReason.RENEWAL).order_by("period_start")
    assert [(r.period_start, r.period_end, r.gross_total) for r in renewals] == [
        (second_year, second_year + relativedelta(years=1) - timedelta(days=1), Decimal("14280.00")),
        (second_year + relativedelta(years=1), second_year + relativedelta(years=2) - timedelta(days=1),
         Decimal("14280.00")),
    ]
    assert list(Invoice.objects.order_by("number").values_list("number", flat=True)) == [1, 2, 3]


# --- An issued invoice is a snapshot ----------------------------------------------------

def test_an_issued_invoice_refuses_edits_and_deletes_through_the_model(org_a, alice):
    invoice = issued(offer_accepted(org_a, alice))

    invoice.gross_total = Decimal("1.00")
    with pytest.raises(ValidationError, match=rf"{number(1)} is issued and cannot be edited \(gross_total\)"):
        invoice.save()
    invoice.refresh_from_db()
    invoice.buyer = {**invoice.buyer, "name": "Someone Else Ltd"}
    with pytest.raises(ValidationError, match=r"cannot be edited \(buyer\)"):
        invoice.save()
    invoice.refresh_from_db()
    with pytest.raises(ValidationError, match="cannot be deleted; issue a credit note"):
        invoice.delete()

    stored = Invoice.objects.get()
    assert (stored.gross_total, stored.buyer["name"], stored.number) == (Decimal("119.00"), "Acme Vision Ltd", 1)


def test_a_draft_can_still_be_deleted(org_a, alice):
    draft = billing.invoice_draft(licence=offer_accepted(org_a, alice), reason=InvoiceReason.COMMERCIAL,
                                  currency="EUR", lines=[("Commercial licence", Decimal("1"), Decimal("100.00"))])

    draft.delete()

    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


def _raw_delete_invoice(invoice, payment):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM licensing_invoice WHERE id = %s", [invoice.pk])


def _payment_save(invoice, payment):
    payment.amount = Decimal("1.00")
    payment.save()


BYPASSING_THE_MODEL = {
    "changing the total": (lambda invoice, payment: Invoice.objects.filter(pk=invoice.pk).update(
        gross_total=Decimal("1.00")), "is issued and cannot be edited"),
    "changing the buyer": (lambda invoice, payment: Invoice.objects.filter(pk=invoice.pk).update(
        buyer={"name": "Someone Else Ltd"}), "is issued and cannot be edited"),
    "renumbering": (lambda invoice, payment: Invoice.objects.filter(pk=invoice.pk).update(number=99),
                    "is issued and cannot be edited"),
    "deleting the invoice in SQL": (_raw_delete_invoice, "is issued and cannot be deleted"),
    "deleting the invoice through a queryset": (
        lambda invoice, payment: Invoice.objects.filter(pk=invoice.pk).delete(), "cannot be"),
    "changing a line": (lambda invoice, payment: InvoiceLine.objects.filter(invoice=invoice).update(
        unit_price=Decimal("0.01")), "the lines of an issued invoice cannot be changed"),
    "deleting a line": (lambda invoice, payment: InvoiceLine.objects.filter(invoice=invoice).delete(),
                        "the lines of an issued invoice cannot be changed"),
    "changing a payment": (_payment_save, "payments are append-only: UPDATE refused"),
    "deleting a payment": (lambda invoice, payment: Payment.objects.filter(pk=payment.pk).delete(),
                           "payments are append-only: DELETE refused"),
}


@pytest.mark.parametrize("attempt", BYPASSING_THE_MODEL, ids=list(BYPASSING_THE_MODEL))
def test_the_database_refuses_to_change_an_issued_invoice_its_lines_or_its_payments(attempt, org_a, alice, fiona):
    invoice = issued(offer_accepted(org_a, alice), ("Commercial licence", Decimal("1"), Decimal("100.00")),
                     ("Extra slice", Decimal("2"), Decimal("10.00")))
    payment = pay(invoice, fiona, "50.00") if "payment" in attempt else None
    before = (line_rows(invoice), list(Invoice.objects.values_list("number", "gross_total", "buyer")),
              list(Payment.objects.values_list("amount", flat=True)))
    change, message = BYPASSING_THE_MODEL[attempt]

    with pytest.raises(DatabaseError, match=message):
        with transaction.atomic():
            change(invoice, payment)

    after = (line_rows(invoice), list(Invoice.objects.values_list("number", "gross_total", "buyer")),
             list(Payment.objects.values_list("amount", flat=True)))
    assert after == before


def test_status_payment_date_and_pdf_may_still_change_on_an_issued_invoice(org_a, alice):
    invoice = issued(offer_accepted(org_a, alice))

    Invoice.objects.filter(pk=invoice.pk).update(pdf="invoices/x.pdf", status=InvoiceStatus.PAID,
                                                 paid_at=timezone.now())

    assert Invoice.objects.get().status == InvoiceStatus.PAID


# --- Payments -------------------------------------------------------------------------

def test_part_payments_leave_a_balance_and_the_last_one_makes_the_licence_commercial(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)

    pay(invoice, fiona, "5000.00", reference="SEPA-1")
    invoice.refresh_from_db()
    licence.refresh_from_db()
    assert (invoice.status, invoice.balance, licence.state) == ("issued", Decimal("9280.00"), "awaiting_payment")

    pay(invoice, fiona, "9280.00", reference="SEPA-2")
    invoice.refresh_from_db()
    licence.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", Decimal("0.00"))
    assert invoice.paid_at is not None
    assert (licence.state, licence.phase) == ("commercial_active", "commercial")
    assert licence.events.last().actor_label == "Fiona (finance)"
    assert list(invoice.payments.values_list("amount", "reference")) == [
        (Decimal("5000.00"), "SEPA-1"), (Decimal("9280.00"), "SEPA-2")]


def test_an_overpayment_is_refused_and_says_what_is_still_owed(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    pay(invoice, fiona, "280.00")

    with pytest.raises(BillingRefused, match=rf"14000.01 EUR is more than the 14000.00 EUR still owed on {number(1)}"):
        pay(invoice, fiona, "14000.01")
    with pytest.raises(BillingRefused, match="more than zero"):
        pay(invoice, fiona, "0")

    invoice.refresh_from_db()
    licence.refresh_from_db()
    assert (invoice.status, invoice.balance, invoice.payments.count()) == ("issued", Decimal("14000.00"), 1)
    assert licence.state == "awaiting_payment"


def test_no_payment_can_be_recorded_on_a_void_invoice_or_a_credit_note(org_a, alice, fiona):
    invoice = issued(offer_accepted(org_a, alice))
    note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Issued by mistake")

    with pytest.raises(BillingRefused, match=rf"{number(1)} is void \(fully credited\): no payment can be recorded"):
        pay(invoice, fiona, "119.00")
    with pytest.raises(BillingRefused, match="not credit notes"):
        pay(note, fiona, "1.00")

    assert not Payment.objects.exists()


# --- Credit notes -------------------------------------------------------------------------

def test_a_full_credit_note_negates_every_line_exactly_and_voids_the_invoice(org_a, alice, fiona):
    invoice = issued(offer_accepted(org_a, alice),
                     ("Commercial licence", Decimal("1"), Decimal("12000.00")),
                     ("Extra slices", Decimal("3"), Decimal("33.335")),
                     ("Onboarding hours", Decimal("2.5"), Decimal("10.05")))

    note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Offer withdrawn")

    assert line_rows(note) == [(f"Credit: {description}", quantity, -price, -net, -tax, -gross)
                               for description, quantity, price, net, tax, gross in line_rows(invoice)]
    assert (note.net_total, note.tax_total, note.gross_total) == (
        -invoice.net_total, -invoice.tax_total, -invoice.gross_total)
    assert (note.kind, note.status, note.corrects_id, note.display_number) == (
        InvoiceKind.CREDIT_NOTE, "issued", invoice.pk, number(1, "CRN"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("void", Decimal("0.00"))


def test_a_second_full_credit_is_refused_and_issues_nothing(org_a, alice, fiona):
    invoice = issued(offer_accepted(org_a, alice))
    billing.credit_note_issue(invoice=invoice, by=fiona, reason="Issued by mistake")

    with pytest.raises(BillingRefused, match=f"Only issued or paid invoices can be credited; {number(1)} is void"):
        billing.credit_note_issue(invoice=invoice, by=fiona, reason="Again")

    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_a_partial_credit_lowers_what_is_owed_by_exactly_that_amount(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)

    note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Launch discount", amount=Decimal("1234.56"))

    assert note.gross_total == Decimal("-1234.56")
    assert note.net_total + note.tax_total == note.gross_total
    [(description, quantity, _, net, tax, gross)] = line_rows(note)
    assert description == f"Partial credit of {number(1)}: Launch discount"
    assert (net + tax, gross) == (Decimal("-1234.56"), Decimal("-1234.56"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("issued", Decimal("13045.44"))

    with pytest.raises(BillingRefused, match="already partly credited; credit the remaining 13045.44 EUR"):
        billing.credit_note_issue(invoice=invoice, by=fiona, reason="Cancel")
    with pytest.raises(BillingRefused, match="at most 13045.44 EUR"):
        billing.credit_note_issue(invoice=invoice, by=fiona, reason="Too much", amount=Decimal("13045.45"))

    billing.credit_note_issue(invoice=invoice, by=fiona, reason="Cancel the rest", amount=Decimal("13045.44"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("void", Decimal("0.00"))


@pytest.mark.parametrize("amount", ["0.03", "99.99", "1234.56", "13045.44", "7140.00"])
def test_any_partial_credit_amount_is_credited_to_the_cent(amount, org_a, alice, fiona):
    invoice = billing.commercial_invoice_issue(licence_id=offer_accepted(org_a, alice).pk)

    note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Discount", amount=Decimal(amount))

    assert note.gross_total == -Decimal(amount)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("14280.00") - Decimal(amount)


def test_a_partial_credit_on_a_paid_invoice_keeps_it_paid_and_shows_what_is_owed_back(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    pay(invoice, fiona, "14280.00")

    billing.credit_note_issue(invoice=invoice, by=fiona, reason="Goodwill", amount=Decimal("119.00"))

    invoice.refresh_from_db()
    licence.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", Decimal("-119.00"))
    assert licence.state == "commercial_active"


def test_crediting_what_is_left_after_a_part_payment_settles_the_invoice_and_the_licence(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    pay(invoice, fiona, "14000.00")

    billing.credit_note_issue(invoice=invoice, by=fiona, reason="Bank charges waived", amount=Decimal("280.00"))

    invoice.refresh_from_db()
    licence.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", Decimal("0.00"))
    assert licence.state == "commercial_active", "nothing is owed, so nothing holds the licence back"


def test_a_credit_note_needs_a_reason_and_an_issued_invoice(org_a, alice, fiona):
    licence = offer_accepted(org_a, alice)
    invoice = issued(licence)
    draft = billing.invoice_draft(licence=licence, reason=InvoiceReason.COMMERCIAL, currency="EUR",
                                  lines=[("Commercial licence", Decimal("1"), Decimal("100.00"))])

    with pytest.raises(BillingRefused, match="Say why the invoice is credited"):
        billing.credit_note_issue(invoice=invoice, by=fiona, reason="  ")
    with pytest.raises(BillingRefused, match=f"Draft invoice #{draft.pk} is draft"):
        billing.credit_note_issue(invoice=draft, by=fiona, reason="No")

    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


# --- Rounding -----------------------------------------------------------------------------

@pytest.mark.parametrize("quantity, unit_price, net, tax, gross", [
    ("1", "0.005", "0.01", "0.00", "0.01"),  # half a cent goes up
    ("3", "33.335", "100.01", "19.00", "119.01"),  # 100.005 -> 100.01; 19.00190 -> 19.00
    ("1", "10.05", "10.05", "1.91", "11.96"),  # 19% of 10.05 is 1.9095 -> 1.91
    ("2.5", "0.99", "2.48", "0.47", "2.95"),  # 2.475 -> 2.48; 0.4712 -> 0.47
    ("1", "0.03", "0.03", "0.01", "0.04"),  # 0.0057 -> 0.01
])
def test_each_line_is_rounded_half_up_to_the_cent(quantity, unit_price, net, tax, gross, org_a, alice):
    invoice = issued(offer_accepted(org_a, alice), ("Line", Decimal(quantity), Decimal(unit_price)))

    [(_, _, _, line_net, line_tax, line_gross)] = line_rows(invoice)
    assert (line_net, line_tax, line_gross) == (Decimal(net), Decimal(tax), Decimal(gross))
    invoice.refresh_from_db()
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (Decimal(net), Decimal(tax), Decimal(gross))


def test_the_totals_are_the_sums_of_the_rounded_lines(org_a, alice):
    half_cent, small, tax_rounding = ("Half a cent", Decimal("1"), Decimal("0.005")), \
        ("Three cents", Decimal("1"), Decimal("0.03")), ("Ten oh five", Decimal("1"), Decimal("10.05"))

    invoice = issued(offer_accepted(org_a, alice), half_cent, half_cent, half_cent, small, small, small,
                     tax_rounding, tax_rounding)

    invoice.refresh_from_db()
    rows = line_rows(invoice)
    # Rounded once over the whole invoice: 20.205 -> 20.21 net, 19% of it 3.839 -> 3.84 tax.
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("20.22"), Decimal("3.85"), Decimal("24.07"))
    assert invoice.net_total == sum(row[3] for row in rows)
    assert invoice.tax_total == sum(row[4] for row in rows)
    assert invoice.gross_total == sum(row[5] for row in rows)


def test_a_sub_cent_unit_price_is_kept_as_billed(org_a, alice):
    invoice = issued(offer_accepted(org_a, alice), ("Per asset", Decimal("3"), Decimal("33.335")))

    [(_, quantity, unit_price, net, _, _)] = line_rows(invoice)
    assert quantity * unit_price == Decimal("100.005") and net == Decimal("100.01")
