"""Invoice numbers under concurrent issuers, on PostgreSQL's advisory lock and real transactions."""
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import Invoice, InvoiceReason, InvoiceStatus
from licensing.services import billing
from tests.licensing.test_billing import offer_accepted

pytestmark = pytest.mark.django_db(transaction=True)

ISSUERS = 20


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Each committed issue renders its PDF: into the test's folder, not var/media."""
    settings.MEDIA_ROOT = tmp_path


def drafts(licence, count):
    return [billing.invoice_draft(licence=licence, reason=InvoiceReason.COMMERCIAL, currency="EUR",
                                  lines=[(f"Slice pack {n}", Decimal("1"), Decimal("100.00"))])
            for n in range(count)]


def at_once(calls):
    """Run the calls in threads released together; each thread has its own database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=20)
            outcomes[index] = call()
        except Exception as error:  # noqa: BLE001 - the test reads what each thread met
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an issuer is still waiting"
    return outcomes


def issued_numbers():
    return list(Invoice.objects.filter(status=InvoiceStatus.ISSUED).order_by("number").values_list("number", flat=True))


def test_twenty_invoices_issued_at_once_get_consecutive_numbers(org_a, alice):
    licence = offer_accepted(org_a, alice)
    pending = drafts(licence, ISSUERS)

    outcomes = at_once([lambda draft=draft: billing.invoice_issue(invoice=draft) for draft in pending])

    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert errors == []
    assert sorted(invoice.number for invoice in outcomes) == list(range(1, ISSUERS + 1))
    assert issued_numbers() == list(range(1, ISSUERS + 1))
    year = timezone.now().year
    assert set(Invoice.objects.values_list("series", "year")) == {("INV", year)}


def test_issuers_that_roll_back_at_the_same_time_leave_no_gap(org_a, alice):
    licence = offer_accepted(org_a, alice)
    pending = drafts(licence, ISSUERS)

    def issue_then_fail(draft):
        with transaction.atomic():
            billing.invoice_issue(invoice=draft)
            raise RuntimeError("the request failed after numbering")

    calls = [(lambda draft=draft: issue_then_fail(draft)) if n % 4 == 3 else
             (lambda draft=draft: billing.invoice_issue(invoice=draft)) for n, draft in enumerate(pending)]
    outcomes = at_once(calls)

    failed = [o for o in outcomes if isinstance(o, RuntimeError)]
    assert len(failed) == ISSUERS // 4
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RuntimeError)]
    assert issued_numbers() == list(range(1, ISSUERS - ISSUERS // 4 + 1))
    assert Invoice.objects.filter(status=InvoiceStatus.DRAFT).count() == ISSUERS // 4, "the failed ones stay drafts"


def test_the_commercial_invoice_job_delivered_twice_at_once_issues_one_invoice(org_a, alice):
    licence = offer_accepted(org_a, alice)

    outcomes = at_once([lambda: billing.commercial_invoice_issue(licence_id=licence.pk)] * 2)

    assert [type(o) for o in outcomes] == [Invoice, Invoice], outcomes
    assert outcomes[0].pk == outcomes[1].pk
    assert issued_numbers() == [1]
    assert not Invoice.objects.filter(status=InvoiceStatus.DRAFT).exists()
