"""Dunning over time: a reminder at the due date, another a week later, suspension after two weeks,
and the licence back once the invoice is paid. The clock is frozen and moved on by the test."""
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.utils import timezone

from licensing import tasks
from licensing.models import InvoiceReason, LicenceEvent, LicenceState
from licensing.services import billing
from licensing.services import licences as licence_services
from tests.licensing.test_billing import commercial, number, offer_accepted

pytestmark = pytest.mark.django_db

DUNNING = "Tessera (dunning job)"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@contextmanager
def clock_at(day, hour=9):
    """Every `timezone.now()` answers this moment: the beat job, the services and the timestamps."""
    moment = datetime.combine(day, time(hour), tzinfo=dt_timezone.utc)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def reminders():
    return sorted((m.to[0], m.subject) for m in mail.outbox if "eminder" in m.subject)


@pytest.fixture
def unpaid(org_a, alice, amir, django_capture_on_commit_callbacks):
    """A licence awaiting payment of its commercial invoice; alice and amir are its organisation's members."""
    licence = offer_accepted(org_a, alice)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    mail.outbox.clear()
    return licence, invoice


def test_an_unpaid_invoice_is_reminded_then_the_licence_suspended_and_paying_it_makes_the_licence_commercial(
        unpaid, fiona, client, django_capture_on_commit_callbacks):
    licence, invoice = unpaid
    due = invoice.due_date
    members = ["alice@acme.example", "amir@acme.example"]

    def run(day, times=1):
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(times):
                billing.dunning_run(today=day)
        licence.refresh_from_db()

    run(due - timedelta(days=1))
    assert reminders() == [], "nothing before the due date"

    run(due, times=2)
    assert reminders() == [(email, f"[Tessera] Reminder: invoice {number(1)} is due") for email in members]

    run(due + timedelta(days=6))
    assert len(reminders()) == 2, "the first reminder is sent once"

    run(due + timedelta(days=7), times=2)
    second = [r for r in reminders() if "Second reminder" in r[1]]
    assert second == [(email, f"[Tessera] Second reminder: invoice {number(1)} is 7 days overdue")
                      for email in members]
    run(due + timedelta(days=13))
    assert licence.state == LicenceState.AWAITING_PAYMENT
    assert len(reminders()) == 4

    run(due + timedelta(days=14), times=2)
    assert (licence.state, licence.suspended_from) == (LicenceState.SUSPENDED, LicenceState.AWAITING_PAYMENT)
    suspension = LicenceEvent.objects.get(licence=licence, action="suspend")
    assert (suspension.actor_id, suspension.actor_label, suspension.note) == (
        None, DUNNING, f"{number(1)} is 14 days overdue.")
    assert len(reminders()) == 4, "no third reminder"
    assert sorted(m.to[0] for m in mail.outbox if "Licence suspended" in m.subject and m.to[0] in members) == members
    client.force_login(licence.applicant)
    page = client.get(f"/licences/{licence.pk}/").content.decode()
    assert 'id="licence-state">Suspended<' in page and DUNNING in page and "14 days overdue" in page

    with django_capture_on_commit_callbacks(execute=True):
        billing.payment_record(invoice=invoice, by=fiona, amount=invoice.gross_total,
                               received_on=due + timedelta(days=15), reference="SEPA-LATE")
    licence.refresh_from_db()
    invoice.refresh_from_db()
    assert (invoice.status, licence.state, licence.phase) == ("paid", "commercial_active", "commercial")
    assert licence.events.last().action == "record_payment"

    mail.outbox.clear()
    run(due + timedelta(days=30))
    assert (reminders(), licence.state) == ([], LicenceState.COMMERCIAL_ACTIVE), "a paid invoice is left alone"


def test_the_beat_job_on_an_advancing_clock_suspends_for_an_unpaid_renewal_and_payment_reinstates(
        org_a, alice, fiona, django_capture_on_commit_callbacks):
    accepted = timezone.now() - relativedelta(years=1, days=3)
    licence = commercial(org_a, alice, accepted_at=accepted, term_months=24)
    with django_capture_on_commit_callbacks(execute=True):
        billing.renewal_invoices_issue()
    renewal = licence.invoices.get(reason=InvoiceReason.RENEWAL)
    mail.outbox.clear()

    for days_late in (0, 7, 13):
        with clock_at(renewal.due_date + timedelta(days=days_late)), django_capture_on_commit_callbacks(execute=True):
            tasks.run_dunning.delay()
    licence.refresh_from_db()
    assert licence.state == LicenceState.COMMERCIAL_ACTIVE
    assert [subject for _, subject in reminders() if _ == "alice@acme.example"] == [
        f"[Tessera] Reminder: invoice {renewal.display_number} is due",
        f"[Tessera] Second reminder: invoice {renewal.display_number} is 7 days overdue",
    ]

    with clock_at(renewal.due_date + timedelta(days=14)) as suspended_at, \
            django_capture_on_commit_callbacks(execute=True):
        tasks.run_dunning.delay()
    licence.refresh_from_db()
    assert (licence.state, licence.suspended_from) == (LicenceState.SUSPENDED, LicenceState.COMMERCIAL_ACTIVE)
    suspension = licence.events.get(action="suspend")
    assert (suspension.actor_label, suspension.created_at) == (DUNNING, suspended_at)

    with clock_at(renewal.due_date + timedelta(days=16)), django_capture_on_commit_callbacks(execute=True):
        billing.payment_record(invoice=renewal, by=fiona, amount=renewal.gross_total,
                               received_on=renewal.due_date + timedelta(days=16), reference="SEPA-RENEWAL")
    licence.refresh_from_db()
    assert (licence.state, licence.suspended_from) == (LicenceState.COMMERCIAL_ACTIVE, "")
    reinstated = licence.events.last()
    assert (reinstated.action, reinstated.note) == ("reinstate", f"{renewal.display_number} paid.")


def test_paying_does_not_lift_a_suspension_a_licensor_admin_made(org_a, alice, adam, fiona):
    licence = commercial(org_a, alice, accepted_at=timezone.now() - relativedelta(years=1, days=3), term_months=24)
    billing.renewal_invoices_issue()
    renewal = licence.invoices.get(reason=InvoiceReason.RENEWAL)
    licence_services.licence_suspend(licence=licence, by=adam, reason="Data used outside the licensed purpose")

    billing.payment_record(invoice=renewal, by=fiona, amount=renewal.gross_total, received_on=timezone.now().date(),
                           reference="SEPA-1")

    licence.refresh_from_db()
    renewal.refresh_from_db()
    assert (renewal.status, licence.state) == ("paid", LicenceState.SUSPENDED)


def test_a_void_or_partly_paid_invoice_is_chased_only_for_what_is_still_owed(unpaid, org_a, alice, fiona):
    licence, invoice = unpaid
    other = billing.commercial_invoice_issue(
        licence_id=offer_accepted(org_a, alice, fee="100.00").pk)
    billing.credit_note_issue(invoice=other, by=fiona, reason="Issued by mistake")
    billing.payment_record(invoice=invoice, by=fiona, amount=Decimal("14000.00"), received_on=invoice.due_date,
                           reference="SEPA-PART")

    billing.dunning_run(today=invoice.due_date)

    chased = [m for m in mail.outbox if "Reminder" in m.subject]
    assert {m.subject for m in chased} == {f"[Tessera] Reminder: invoice {invoice.display_number} is due"}
    assert all("Still owed: 280.00 EUR." in m.body for m in chased)


def test_an_invoice_paid_while_an_admin_held_the_licence_completes_the_upgrade_on_reinstatement(org_a, alice, adam,
                                                                                               fiona):
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    licence_services.licence_suspend(licence=licence, by=adam, reason="Checking the licensee's identity")
    billing.payment_record(invoice=invoice, by=fiona, amount=invoice.gross_total, received_on=timezone.now().date(),
                           reference="SEPA-9")
    licence.refresh_from_db()
    assert licence.state == LicenceState.SUSPENDED, "an admin's hold is not lifted by a payment"

    licence_services.licence_reinstate(licence=licence, by=adam)
    licence.refresh_from_db()
    assert licence.state == LicenceState.COMMERCIAL_ACTIVE
    assert list(licence.events.values_list("action", flat=True))[-2:] == ["reinstate", "record_payment"]
