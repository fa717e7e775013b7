"""A month-end run: renewal invoices for 10,000 commercial licences, and one invoice's PDF.

- renewal_invoices_issue (what the beat job calls) over 10,000 annual commercial licences
  whose second year has begun: numbers, lines, snapshots, audit events and PDF jobs, no PDFs
  rendered (their job is not dispatched: a PDF is made by its job, or on first download).
- Its floor, timed in the same run on another 10,000 licences: the same rows (invoices
  numbered under the series lock, their lines, audit events and PDF jobs) written by bare
  set-based SQL, one INSERT … SELECT per table in one transaction, committed. The target is
  the absolute 3 s; the ratio to the floor says how much is left above what PostgreSQL needs.
- The per-invoice path (invoice_draft + invoice_issue one at a time), timed once over a few
  hundred invoices and scaled, is printed for comparison only.
- the median time to render one invoice's PDF from its snapshot.
Each repeat renews new sets of licences and retires them afterwards, so every run issues
the same invoices' worth of work. The numbers issued must be gapless from 1.
"""
import statistics
from datetime import timedelta
from decimal import Decimal

from bench.licensees import jobs_not_dispatched
from bench.machine import load_note
from bench.measure import Figure, Report, Target, timed

LICENCES = 10_000
ONE_BY_ONE = 200  # timed once: the per-invoice path is only printed beside the month-end run
REPEATS = 3
PDF_SAMPLES = 20
FEE = Decimal("24000.00")


def run():
    from bench.licensees import applicant
    from licensing.models import Invoice

    user = applicant()
    notes = [load_note("at the start")]
    batch, floor = [], []
    with pdf_not_dispatched():
        per_invoice = time_one_by_one(user)
        print(f"  one at a time: {per_invoice * 1000:.2f} ms per invoice ({per_invoice * LICENCES:.1f} s for "
              f"{LICENCES:,})")
        for repeat in range(REPEATS):
            # Interleaved, so that a burst of load on a shared machine hits both sides of the ratio.
            seconds, invoices = time_renewal_run(user)
            batch.append(seconds)
            if repeat == 0:
                first_run = invoices
            floor.append(time_sql_floor(user))
            print(f"  renewal run {seconds:.3f} s for {LICENCES:,}; the same rows by bare SQL {floor[-1]:.3f} s")
    numbers = check_gapless(expected=ONE_BY_ONE + REPEATS * 2 * LICENCES)
    notes.append(f"invoice numbers: the first renewal run issued {first_run[0]}..{first_run[1]}; all {numbers:,} "
                 "issued in the benchmark (service, floor and one at a time) are gapless from 1")
    pdf = time_pdfs(Invoice.objects.filter(reason="renewal").order_by("number")[:PDF_SAMPLES])
    notes.append(load_note("at the end"))

    report = Report(
        figures=[
            Figure.median("invoices_10k_s", batch, "s", "renewal_invoices_issue, PDFs not rendered"),
            Figure.median("invoices_10k_sql_floor_s", floor, "s",
                          "the same rows by bare INSERT … SELECT, one per table, committed"),
            Figure("invoices_10k_one_by_one_s", per_invoice * LICENCES, "s",
                   note=f"invoice_draft + invoice_issue, {ONE_BY_ONE} timed, scaled to {LICENCES:,}"),
            Figure.median("invoice_pdf_median_ms", pdf, "ms", f"render_invoice_pdf, {PDF_SAMPLES} invoices"),
        ],
        targets=[],
        notes=notes,
    )
    batch_s, floor_s = report.figure("invoices_10k_s"), report.figure("invoices_10k_sql_floor_s")
    report.targets = [
        Target("invoices_10k_within_3s", "10,000 renewal invoices within 3 s",
               f"{batch_s:.3f} s ({batch_s / floor_s:.2f}x its SQL floor of {floor_s:.3f} s)", batch_s <= 3),
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


FLOOR_SQL = """
WITH due AS (
    SELECT l.id AS licence_id, l.organisation_id, l.project_title, l.offer_fee, l.offer_currency,
           CAST(CAST(l.offer_accepted_at AT TIME ZONE 'UTC' AS date) + make_interval(years => k) AS date) AS start,
           LEAST(CAST(l.commercial_ends_at AT TIME ZONE 'UTC' AS date),
                 CAST(CAST(l.offer_accepted_at AT TIME ZONE 'UTC' AS date)
                      + make_interval(months => COALESCE(l.offer_term_months, 100000)) AS date)) AS term_end
    FROM licensing_licence l
    CROSS JOIN LATERAL generate_series(1, CAST(EXTRACT(year FROM age(%(today)s, l.offer_accepted_at)) AS int) + 1) k
    WHERE l.id = ANY(%(licences)s) AND l.state IN ('commercial_active', 'suspended') AND l.phase = 'commercial'
      AND l.offer_billing_period = 'annual' AND l.offer_accepted_at IS NOT NULL AND l.commercial_ends_at IS NOT NULL
), numbered AS (
    SELECT due.*, CAST(start + interval '1 year' - interval '1 day' AS date) AS period_end,
           'licence:' || licence_id || ':renewal:' || to_char(start, 'YYYY-MM-DD') AS dedupe_key,
           ROUND(offer_fee, 2) AS net, ROUND(ROUND(offer_fee, 2) * %(rate)s / 100, 2) AS tax,
           %(first)s + row_number() OVER (ORDER BY licence_id, start) - 1 AS number
    FROM due
    WHERE start <= %(today)s AND start < term_end
      AND NOT EXISTS (SELECT 1 FROM licensing_invoice x
                      WHERE x.dedupe_key = 'licence:' || due.licence_id || ':renewal:' || to_char(due.start, 'YYYY-MM-DD'))
), invoices AS (
    INSERT INTO licensing_invoice (kind, reason, series, year, number, licence_id, organisation_id, period_start,
                                   period_end, currency, tax_rate, status, issued_at, due_date, issuer, buyer,
                                   net_total, tax_total, gross_total, dedupe_key, pdf, created_at)
    SELECT 'invoice', 'renewal', %(series)s, %(year)s, n.number, n.licence_id, n.organisation_id, n.start, n.period_end,
           n.offer_currency, %(rate)s, 'issued', %(now)s, %(due)s, %(issuer)s,
           jsonb_build_object('name', COALESCE(NULLIF(o.legal_name, ''), o.name), 'address', o.billing_address,
                              'country', o.country, 'vat_id', o.vat_id),
           n.net, n.tax, n.net + n.tax, n.dedupe_key, '', %(now)s
    FROM numbered n JOIN accounts_organisation o ON o.id = n.organisation_id
    RETURNING id, licence_id, organisation_id, number, period_start, period_end, net_total, tax_total, gross_total,
              currency
), lines AS (
    INSERT INTO licensing_invoiceline (invoice_id, position, description, quantity, unit_price, tax_rate, net_amount,
                                       tax_amount, gross_amount)
    SELECT i.id, 1, 'Commercial licence “' || l.project_title || '”: annual fee, ' || to_char(i.period_start, 'DD Mon YYYY')
                    || ' – ' || to_char(i.period_end, 'DD Mon YYYY'),
           1, l.offer_fee, %(rate)s, i.net_total, i.tax_total, i.gross_total
    FROM invoices i JOIN licensing_licence l ON l.id = i.licence_id
), audited AS (
    INSERT INTO licensing_auditevent (created_at, organisation_id, action, target_type, target_id, payload)
    SELECT %(now)s, organisation_id, 'invoice.issue', 'invoice', CAST(id AS text),
           jsonb_build_object('number', %(series)s || '-' || %(year)s || '-' || lpad(CAST(number AS text), GREATEST(5, length(CAST(number AS text))), '0'),
                              'gross', CAST(gross_total AS text), 'currency', currency, 'due', CAST(%(due)s AS text),
                              'kind', 'invoice')
    FROM invoices
)
INSERT INTO licensing_job (name, kwargs, dedupe_key, state, created_at, run_after, attempts, max_attempts, last_error)
SELECT 'invoice.render_pdf', jsonb_build_object('invoice_id', id), 'invoice.render_pdf:' || id, 'waiting', %(now)s,
       %(now)s, 0, 8, ''
FROM invoices
"""


def time_sql_floor(user):
    """Seconds for bare SQL to write what renewal_invoices_issue writes for LICENCES new licences, committed."""
    import json
    import zlib
    from datetime import timedelta

    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from licensing.models import Invoice, InvoiceLine, Job
    from licensing.services.billing import issuer_snapshot

    licences = commercial_licences(user, LICENCES)
    ids = [licence.pk for licence in licences]
    now = timezone.now()
    series, year = settings.INVOICE_SERIES, now.year

    def write():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"invoice-series:{series}:{year}".encode())])
            last = Invoice.objects.filter(series=series, year=year).aggregate(n=Max("number"))["n"] or 0
            cursor.execute(FLOOR_SQL, {
                "licences": ids, "today": now.date(), "rate": settings.INVOICE_TAX_RATE, "first": last + 1,
                "series": series, "year": year, "now": now, "issuer": json.dumps(issuer_snapshot()),
                "due": (now + timedelta(days=settings.PAYMENT_TERMS_DAYS)).date(),
            })
            return cursor.rowcount

    seconds, written = timed(write)
    invoices = Invoice.objects.filter(licence_id__in=ids, reason="renewal")
    if written != LICENCES or invoices.count() != LICENCES or InvoiceLine.objects.filter(invoice__in=invoices).count() \
            != LICENCES or Job.objects.filter(name="invoice.render_pdf", kwargs__invoice_id__in=list(
                invoices.values_list("pk", flat=True)[:10])).count() != 10:
        raise RuntimeError(f"the SQL floor wrote {written} jobs for {LICENCES} licences due")
    retire(licences)
    return seconds


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
