"""A month-end run: renewal invoices for 10,000 commercial licences, and one invoice's PDF.

- renewal_invoices_issue (what the beat job calls) over 10,000 annual commercial licences
  whose second year has begun: numbers, lines and snapshots, no PDFs (their job is not
  dispatched). It is set against the per-invoice path, invoice_draft + invoice_issue one
  invoice at a time, timed over 500 invoices and scaled to 10,000;
- the median time to render one invoice's PDF from its snapshot.
Each repeat renews a new set of licences and retires it afterwards, so every run issues
the same 10,000 invoices' worth of work. The numbers issued must be gapless from 1.
"""
import statistics
from datetime import timedelta
from decimal import Decimal

from bench.licensees import jobs_not_dispatched
from bench.machine import load_note
from bench.measure import Figure, Report, Target, timed

LICENCES = 10_000
ONE_BY_ONE = 500
REPEATS = 3
PDF_SAMPLES = 20
FEE = Decimal("24000.00")


def run():
    from bench.licensees import applicant
    from licensing.models import Invoice

    user = applicant()
    notes = [load_note("at the start")]
    batch, one_by_one = [], []
    with pdf_not_dispatched():
        for repeat in range(REPEATS):
            seconds, invoices = time_renewal_run(user)
            batch.append(seconds)
            if repeat == 0:
                first_run = invoices
            per_invoice = time_one_by_one(user)
            one_by_one.append(per_invoice * LICENCES)
            print(f"  renewal run {seconds:.3f} s for {LICENCES:,}; one at a time {per_invoice * 1000:.2f} ms "
                  f"per invoice ({per_invoice * LICENCES:.1f} s for {LICENCES:,})")
    numbers = check_gapless(expected=REPEATS * (LICENCES + ONE_BY_ONE))
    notes.append(f"invoice numbers: the first run issued {first_run[0]}..{first_run[1]}; all {numbers:,} "
                 "issued in the benchmark are gapless from 1")
    pdf = time_pdfs(Invoice.objects.filter(reason="renewal").order_by("number")[:PDF_SAMPLES])
    notes.append(load_note("at the end"))

    report = Report(
        figures=[
            Figure.median("invoices_10k_s", batch, "s", "renewal_invoices_issue, PDFs not rendered"),
            Figure.median("invoices_10k_one_by_one_s", one_by_one, "s",
                          f"invoice_draft + invoice_issue, {ONE_BY_ONE} timed, scaled to {LICENCES:,}"),
            Figure.median("invoice_pdf_median_ms", pdf, "ms", f"render_invoice_pdf, {PDF_SAMPLES} invoices"),
        ],
        targets=[],
        notes=notes,
    )
    batch_s, one_by_one_s = report.figure("invoices_10k_s"), report.figure("invoices_10k_one_by_one_s")
    report.targets = [
        Target("invoices_10k_within_10s", "10,000 renewal invoices within 10 s",
               f"{batch_s:.3f} s ({one_by_one_s / batch_s:.1f}x faster than one at a time)", batch_s <= 10),
    ]
    return report


# Issuing schedules each invoice's PDF job; the month-end figure is the issuing alone.
pdf_not_dispatched = jobs_not_dispatched


# --- Licences due for renewal ----------------------------------------------------

def commercial_licences(user, count, *, fee=FEE):
    """`count` annual commercial licences of `user`'s organisation, on 24-month terms accepted 13 months
    ago: their second year began a month ago. Written as rows in bulk: the benchmarks measure billing,
    not the offer workflow."""
    from dateutil.relativedelta import relativedelta
    from django.utils import timezone

    from licensing.models import Licence, LicencePhase, LicenceState

    now = timezone.now()
    accepted = now - relativedelta(months=13)
    rows = [
        Licence(
            organisation=user.membership.organisation, applicant=user, state=LicenceState.COMMERCIAL_ACTIVE,
            phase=LicencePhase.COMMERCIAL, project_title=f"Bench model {n}", description="Benchmark licence.",
            intended_use="Benchmarks.", model_type="image_generation", media_kinds=["image", "video"],
            estimated_volume=100_000, team_size=8, funding_stage="series_a", terms_accepted_at=accepted,
            terms_version="bench", upgrade_intended_use="Train a commercial model.",
            upgrade_expected_scale="1M assets", offer_fee=fee, offer_currency="EUR", offer_billing_period="annual",
            offer_term_months=24, offer_scope="Commercial model training", offer_territory="Worldwide",
            offer_made_at=accepted - timedelta(days=5), offer_accepted_at=accepted,
            commercial_starts_at=accepted + timedelta(days=3),
            commercial_ends_at=accepted + timedelta(days=3) + relativedelta(months=24),
        )
        for n in range(count)
    ]
    return Licence.objects.bulk_create(rows, batch_size=2000)


def retire(licences):
    """Out of the next run's way: an expired licence is not renewed."""
    from licensing.models import Licence, LicenceState

    Licence.objects.filter(pk__in=[licence.pk for licence in licences]).update(state=LicenceState.EXPIRED)


# --- The month-end run -----------------------------------------------------------

def time_renewal_run(user):
    """(seconds, (first number, last number)) of renewal_invoices_issue over LICENCES new licences."""
    from licensing.models import Invoice
    from licensing.services.billing import renewal_invoices_issue

    licences = commercial_licences(user, LICENCES)
    before = Invoice.objects.count()
    seconds, issued = timed(renewal_invoices_issue)
    invoices = Invoice.objects.filter(licence__in=licences, reason="renewal")
    numbers = sorted(invoices.values_list("number", flat=True))
    lines = Invoice.objects.filter(pk__in=invoices, lines__isnull=False).count()
    if issued != LICENCES or len(numbers) != LICENCES or Invoice.objects.count() - before != LICENCES:
        raise RuntimeError(f"renewal_invoices_issue issued {issued} invoices for {LICENCES} licences due")
    if numbers != list(range(numbers[0], numbers[0] + LICENCES)) or lines != LICENCES:
        raise RuntimeError("the renewal invoices' numbers are not consecutive, or not every invoice has its line")
    retire(licences)
    return seconds, (numbers[0], numbers[-1])


def time_one_by_one(user):
    """Seconds per invoice, issuing ONE_BY_ONE renewal invoices through the per-invoice path."""
    from dateutil.relativedelta import relativedelta
    from django.db import transaction

    from licensing.models import InvoiceReason, Licence
    from licensing.services.billing import invoice_draft, invoice_issue

    licences = list(Licence.objects.select_related("organisation").filter(
        pk__in=[licence.pk for licence in commercial_licences(user, ONE_BY_ONE)]))

    def issue_all():
        for licence in licences:
            start = licence.offer_accepted_at.date() + relativedelta(years=1)
            end = start + relativedelta(years=1) - timedelta(days=1)
            with transaction.atomic():
                invoice = invoice_draft(
                    licence=licence, reason=InvoiceReason.RENEWAL, currency=licence.offer_currency,
                    period_start=start, period_end=end, dedupe_key=f"licence:{licence.pk}:renewal:{start:%Y-%m-%d}",
                    lines=[(f"Commercial licence “{licence.project_title}”: annual fee, "
                            f"{start:%d %b %Y} – {end:%d %b %Y}", Decimal("1"), licence.offer_fee)],
                )
                invoice_issue(invoice=invoice)

    seconds, _ = timed(issue_all)
    retire(licences)
    return seconds / ONE_BY_ONE


def check_gapless(*, expected):
    """The invoice series has exactly 1..expected this year; returns how many."""
    from django.conf import settings
    from django.utils import timezone

    from licensing.models import Invoice

    numbers = list(Invoice.objects.filter(series=settings.INVOICE_SERIES, year=timezone.now().year)
                   .order_by("number").values_list("number", flat=True))
    if numbers != list(range(1, expected + 1)):
        raise RuntimeError(f"the {settings.INVOICE_SERIES} series is not 1..{expected} without gaps")
    return len(numbers)


# --- PDFs ------------------------------------------------------------------------

def time_pdfs(invoices):
    """Milliseconds to render each invoice's PDF, after one render to load fonts and styles."""
    from licensing.documents.billing import render_invoice_pdf

    invoices = list(invoices)
    render_invoice_pdf(invoices[0])
    samples = []
    for invoice in invoices:
        seconds, pdf = timed(lambda: render_invoice_pdf(invoice))
        if not pdf.startswith(b"%PDF"):
            raise RuntimeError(f"render_invoice_pdf gave no PDF for {invoice.display_number}")
        samples.append(seconds * 1000)
    print(f"  PDF median {statistics.median(samples):.1f} ms over {len(samples)} invoices")
    return samples
