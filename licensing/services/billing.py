"""Invoices, payments and credit notes.

Numbers are given only at issue, gapless per series and year: a transaction-scoped
advisory lock serialises issuers of one series, the next number is read under it, and
a unique constraint backs it up. A rollback gives the number back with the transaction,
which a database sequence would not.
"""
import json
import zlib
from datetime import timedelta
from decimal import Decimal

import structlog
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from licensing import jobs, notifications
from licensing.db import copy_rows, reserve_ids
from licensing.documents.billing import render_invoice_pdf
from licensing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceReason,
    InvoiceStatus,
    Licence,
    LicencePhase,
    LicenceState,
    Payment,
    WebhookEndpoint,
)
from licensing.models.billing import round_money
from licensing.services import licences as licence_services
from licensing.services.audit import audit, audit_many
from licensing.services.webhooks import webhook_emit
from licensing.workflow import LicenceActionRefused

log = structlog.get_logger(__name__)


class BillingRefused(Exception):
    """A billing action that cannot be carried out; the message says why. Nothing was changed."""


def issuer_snapshot():
    return {
        "name": settings.LICENSOR_LEGAL_NAME,
        "address": settings.LICENSOR_ADDRESS,
        "country": settings.LICENSOR_COUNTRY,
        "vat_id": settings.LICENSOR_VAT_ID,
        "bank": {"name": settings.LICENSOR_BANK_NAME, "iban": settings.LICENSOR_IBAN, "bic": settings.LICENSOR_BIC},
    }


def buyer_snapshot(organisation):
    return {
        "name": organisation.legal_name or organisation.name,
        "address": organisation.billing_address,
        "country": organisation.country.code,
        "vat_id": organisation.vat_id,
    }


def _lock_series(series, year):
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"invoice-series:{series}:{year}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    # SQLite runs one writing transaction at a time: the series is already serialised.


def _next_number(series, year):
    _lock_series(series, year)
    last = Invoice.objects.filter(series=series, year=year).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def invoice_draft(*, licence, reason, lines, currency, period_start=None, period_end=None, dedupe_key=None,
                  kind=InvoiceKind.INVOICE, corrects=None, tax_rate=None):
    """A draft with its lines; `lines` are (description, quantity, unit_price), each rounded half-up on the line.

    A credit note passes (description, quantity, unit_price, net, tax, gross) instead: the amounts it
    negates or has worked out, which recomputing from the stored unit price could miss by a cent.
    """
    tax_rate = settings.INVOICE_TAX_RATE if tax_rate is None else Decimal(tax_rate)
    invoice = Invoice.objects.create(
        kind=kind, reason=reason,
        series=settings.CREDIT_NOTE_SERIES if kind == InvoiceKind.CREDIT_NOTE else settings.INVOICE_SERIES,
        licence=licence, organisation=licence.organisation, currency=currency, tax_rate=tax_rate,
        period_start=period_start, period_end=period_end, dedupe_key=dedupe_key, corrects=corrects,
    )
    net = tax = Decimal("0.00")
    for position, (description, quantity, unit_price, *amounts) in enumerate(lines, start=1):
        line_net, line_tax, line_gross = amounts or InvoiceLine.amounts(quantity, unit_price, tax_rate)
        InvoiceLine.objects.create(
            invoice=invoice, position=position, description=description, quantity=quantity, unit_price=unit_price,
            tax_rate=tax_rate, net_amount=line_net, tax_amount=line_tax, gross_amount=line_gross,
        )
        net, tax = net + line_net, tax + line_tax
    invoice.net_total, invoice.tax_total, invoice.gross_total = net, tax, net + tax
    invoice.save(update_fields=["net_total", "tax_total", "gross_total"])
    return invoice


def invoice_issue(*, invoice, now=None):
    """Number the draft and freeze it. Runs inside the caller's transaction or its own."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.DRAFT:
            raise BillingRefused(_("%(number)s is already %(status)s.")
                                 % {"number": invoice.display_number, "status": invoice.get_status_display().lower()})
        invoice.year = now.year
        invoice.number = _next_number(invoice.series, invoice.year)
        invoice.issued_at = now
        invoice.due_date = (now + timedelta(days=settings.PAYMENT_TERMS_DAYS)).date()
        invoice.issuer = issuer_snapshot()
        invoice.buyer = buyer_snapshot(invoice.organisation)
        invoice.status = InvoiceStatus.ISSUED
        invoice.save()
        audit(actor=None, organisation=invoice.organisation, action="invoice.issue", target=invoice,
              payload={"number": invoice.display_number, "gross": invoice.gross_total, "currency": invoice.currency,
                       "due": invoice.due_date, "kind": invoice.kind})
        jobs.schedule("invoice.render_pdf", invoice_id=invoice.pk, dedupe=f"invoice.render_pdf:{invoice.pk}")
        webhook_emit(organisation_id=invoice.organisation_id, event_type="invoice.issued", now=now,
                     data=invoice_event(invoice))
    log.info("invoice_issued", invoice=invoice.display_number, gross=str(invoice.gross_total))
    return invoice


def invoice_event(invoice):
    """What an invoice.issued or invoice.overdue webhook says about the invoice."""
    return {"invoice": invoice.pk, "number": invoice.display_number, "kind": invoice.kind,
            "licence": invoice.licence_id, "currency": invoice.currency, "gross_total": str(invoice.gross_total),
            "issued_at": invoice.issued_at, "due_date": invoice.due_date,
            "url": settings.SITE_URL + f"/api/v1/invoices/{invoice.pk}/"}


def _issue_once(*, licence, dedupe_key, **draft):
    """Issue the invoice for `dedupe_key` unless it exists: a job run twice makes one invoice."""
    existing = Invoice.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            invoice = invoice_draft(licence=licence, dedupe_key=dedupe_key, **draft)
            return invoice_issue(invoice=invoice)
    except IntegrityError:
        # The same job, delivered twice at once, issued it a moment ago: the unique key stopped this copy.
        existing = Invoice.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing


def commercial_invoice_issue(*, licence_id):
    """The invoice for an accepted commercial offer, for the first billing period."""
    licence = Licence.objects.select_related("organisation").get(pk=licence_id)
    if licence.offer_accepted_at is None:
        return None
    start = licence.offer_accepted_at.date()
    annual = licence.offer_billing_period == "annual"
    end = start + relativedelta(months=12 if annual else licence.offer_term_months) - timedelta(days=1)
    description = (
        f"Commercial licence “{licence.project_title}”: "
        + (f"annual fee, {start:%d %b %Y} – {end:%d %b %Y}" if annual else f"{licence.offer_term_months}-month term")
    )
    return _issue_once(
        licence=licence, dedupe_key=f"licence:{licence.pk}:offer:{licence.offer_accepted_at:%Y%m%dT%H%M%S%f}",
        reason=InvoiceReason.COMMERCIAL, currency=licence.offer_currency, period_start=start, period_end=end,
        lines=[(description, Decimal("1"), licence.offer_fee)],
    )


def research_fee_invoice_issue(*, licence_id):
    if settings.RESEARCH_FEE <= 0:
        return None
    licence = Licence.objects.select_related("organisation").get(pk=licence_id)
    return _issue_once(
        licence=licence, dedupe_key=f"licence:{licence.pk}:research-fee", reason=InvoiceReason.RESEARCH_FEE,
        currency=settings.RESEARCH_FEE_CURRENCY,
        period_start=licence.research_starts_at and licence.research_starts_at.date(),
        period_end=licence.research_ends_at and licence.research_ends_at.date(),
        lines=[(f"Research licence “{licence.project_title}”", Decimal("1"), settings.RESEARCH_FEE)],
    )


def usage_invoice_issue(*, report):
    """The invoice for a processed usage report: the attribution rate on the revenue it declares. Issued in
    the processing's transaction; its payments become the report's attribution pool."""
    licence = Licence.objects.select_related("organisation").get(pk=report.licence_id)
    description = (
        f"Usage of {report.version.versioned_name}, {report.period_start:%d %b %Y} – {report.period_end:%d %b %Y} "
        f"(report {report.reference}): {report.attribution_rate:.2%} of {report.revenue:,} {report.currency} "
        f"revenue over {report.outputs:,} outputs"
    )[:300]
    return _issue_once(
        licence=licence, dedupe_key=f"usage-report:{report.pk}", reason=InvoiceReason.USAGE,
        currency=report.currency, period_start=report.period_start, period_end=report.period_end,
        lines=[(description, Decimal("1"), report.pool)],
    )


def years_after(day, years):
    """The same day `years` later, 29 February becoming the 28th: relativedelta(years=…) without its cost,
    which a month end would pay for every licence."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def renewal_periods_due(licence, today):
    """Start dates of the annual periods after the first that have begun by `today`, within the term."""
    if licence.offer_billing_period != "annual" or licence.offer_accepted_at is None or not licence.commercial_ends_at:
        return []
    first = licence.offer_accepted_at.date()
    # The periods count from the acceptance, like the first invoice's, so the term ends `offer_term_months`
    # after it: the commercial dates start at the payment, later, and would bill a year that is not in the term.
    term_end = licence.commercial_ends_at.date()
    if licence.offer_term_months:
        term_end = min(term_end, first + relativedelta(months=licence.offer_term_months))
    periods, k = [], 1
    while True:
        start = years_after(first, k)
        if start > today or start >= term_end:
            return periods
        periods.append(start)
        k += 1


RENEWAL_FIELDS = ("id", "organisation_id", "project_title", "offer_fee", "offer_currency", "offer_billing_period",
                  "offer_accepted_at", "offer_term_months", "commercial_ends_at")


def renewal_invoices_issue(*, today=None, batch_size=5000):
    """One invoice per (licence, annual period) that has begun; running it twice issues nothing twice.

    Month ends renew thousands of licences at once, so each batch takes the series lock
    once, numbers its invoices consecutively and writes them, their lines, audit events and
    PDF jobs in bulk (COPY on PostgreSQL). The licences are read as plain rows: a model
    instance per licence would cost more than its invoice.
    """
    today = today or timezone.now().date()
    licences = Licence.objects.filter(
        state__in=[LicenceState.COMMERCIAL_ACTIVE, LicenceState.SUSPENDED], phase=LicencePhase.COMMERCIAL,
        offer_billing_period="annual",
    ).values_list(*RENEWAL_FIELDS, named=True)
    due = [(licence, start) for licence in licences.iterator(chunk_size=5000)
           for start in renewal_periods_due(licence, today)]
    issued = 0
    for offset in range(0, len(due), batch_size):
        issued += len(_issue_renewal_batch(due[offset:offset + batch_size]))
    return issued


INVOICE_COLUMNS = ("id", "kind", "reason", "series", "year", "number", "licence_id", "organisation_id", "period_start",
                   "period_end", "currency", "tax_rate", "status", "issued_at", "due_date", "issuer", "buyer",
                   "net_total", "tax_total", "gross_total", "dedupe_key", "pdf", "created_at")
LINE_COLUMNS = ("invoice_id", "position", "description", "quantity", "unit_price", "tax_rate", "net_amount",
                "tax_amount", "gross_amount")


def _issue_renewal_batch(batch):
    now = timezone.now()
    tax_rate = settings.INVOICE_TAX_RATE
    series, year = settings.INVOICE_SERIES, now.year
    keys = {f"licence:{licence.id}:renewal:{start:%Y-%m-%d}": (licence, start) for licence, start in batch}
    with transaction.atomic():
        _lock_series(series, year)
        existing = set(Invoice.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
        todo = [(key, licence, start) for key, (licence, start) in keys.items() if key not in existing]
        if not todo:
            return []
        number = _next_number(series, year)
        issuer, due_date = issuer_snapshot(), (now + timedelta(days=settings.PAYMENT_TERMS_DAYS)).date()
        organisations = Organisation.objects.in_bulk({licence.organisation_id for _, licence, _ in todo})
        buyers = {pk: buyer_snapshot(organisation) for pk, organisation in organisations.items()}
        amounts = {}  # licences share fees
        invoices, lines = [], []
        for offset, (key, licence, start) in enumerate(todo):
            end = years_after(start, 1) - timedelta(days=1)
            if licence.offer_fee not in amounts:
                amounts[licence.offer_fee] = InvoiceLine.amounts(1, licence.offer_fee, tax_rate)
            net, tax, gross = amounts[licence.offer_fee]
            invoices.append({
                "kind": InvoiceKind.INVOICE, "reason": InvoiceReason.RENEWAL, "series": series, "year": year,
                "number": number + offset, "licence_id": licence.id, "organisation_id": licence.organisation_id,
                "period_start": start, "period_end": end, "currency": licence.offer_currency, "tax_rate": tax_rate,
                "status": InvoiceStatus.ISSUED, "issued_at": now, "due_date": due_date, "issuer": issuer,
                "buyer": buyers[licence.organisation_id], "net_total": net, "tax_total": tax, "gross_total": gross,
                "dedupe_key": key, "pdf": "", "created_at": now,
            })
            lines.append({
                "position": 1, "quantity": Decimal("1"), "unit_price": licence.offer_fee, "tax_rate": tax_rate,
                "net_amount": net, "tax_amount": tax, "gross_amount": gross,
                "description": f"Commercial licence “{licence.project_title}”: annual fee, "
                               f"{start:%d %b %Y} – {end:%d %b %Y}",
            })
        ids = _write_invoices(invoices, lines)
        audit_many([(None, invoice["organisation_id"], "invoice.issue", "invoice", pk,
                     {"number": f"{series}-{year}-{invoice['number']:05d}", "gross": invoice["gross_total"],
                      "currency": invoice["currency"], "due": due_date, "kind": invoice["kind"]})
                    for pk, invoice in zip(ids, invoices)])
        jobs.schedule_many("invoice.render_pdf", [{"invoice_id": pk} for pk in ids],
                           dedupe=lambda job: f"invoice.render_pdf:{job['invoice_id']}")
        _renewals_announced(ids, invoices, now=now)
    log.info("renewal_invoices_issued", count=len(ids), first=f"{series}-{year}-{number:05d}")
    return ids


def _write_invoices(invoices, lines):
    """Write issued invoices (field values) and their one line each; their ids in the same order. PostgreSQL
    takes them by COPY, their ids reserved first; elsewhere they are bulk-created."""
    if connection.vendor != "postgresql":
        created = Invoice.objects.bulk_create([Invoice(**values) for values in invoices])
        InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, **line) for invoice, line in zip(created, lines)])
        return [invoice.pk for invoice in created]
    ids = reserve_ids(Invoice, len(invoices))
    as_json = {}  # the snapshots are shared by many invoices: each is written as JSON once

    def json_of(snapshot):
        if id(snapshot) not in as_json:
            as_json[id(snapshot)] = (snapshot, json.dumps(snapshot, cls=DjangoJSONEncoder))
        return as_json[id(snapshot)][1]

    copy_rows(Invoice, INVOICE_COLUMNS, (
        (pk, *(json_of(values[column]) if column in ("issuer", "buyer") else values[column]
               for column in INVOICE_COLUMNS[1:]))
        for pk, values in zip(ids, invoices)))
    copy_rows(InvoiceLine, LINE_COLUMNS, ((pk, *(line[column] for column in LINE_COLUMNS[1:]))
                                          for pk, line in zip(ids, lines)))
    return ids


def _renewals_announced(ids, invoices, *, now):
    """The invoice.issued webhook, as for an invoice issued alone, to the organisations that want it."""
    organisations = {invoice["organisation_id"] for invoice in invoices}
    wanting = {endpoint.organisation_id for endpoint in WebhookEndpoint.objects.filter(
        organisation_id__in=organisations, active=True) if endpoint.wants("invoice.issued")}
    if not wanting:
        return
    for invoice in Invoice.objects.filter(pk__in=[pk for pk, invoice in zip(ids, invoices)
                                                  if invoice["organisation_id"] in wanting]).order_by("number"):
        webhook_emit(organisation_id=invoice.organisation_id, event_type="invoice.issued", now=now,
                     data=invoice_event(invoice))


def payment_record(*, invoice, by, amount, received_on, reference, method="bank_transfer", actor_label=None):
    """Record money received. Paying an invoice in full marks it paid and, for the commercial
    invoice, makes the licence commercial (or lifts the dunning suspension)."""
    amount = round_money(amount)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.is_credit_note:
            raise BillingRefused(_("Payments are recorded against invoices, not credit notes."))
        if invoice.status == InvoiceStatus.VOID:
            raise BillingRefused(_("%(display_number)s is void (fully credited): no payment can be recorded.")
                                 % {"display_number": invoice.display_number})
        if invoice.status == InvoiceStatus.DRAFT:
            raise BillingRefused(_("%(display_number)s is a draft: issue it before recording payments.")
                                 % {"display_number": invoice.display_number})
        if amount <= 0:
            raise BillingRefused(_("The amount must be more than zero."))
        balance = invoice.balance
        if amount > balance:
            raise BillingRefused(
                _("%(amount)s %(currency)s is more than the %(balance)s %(currency)s still owed on "
                  "%(display_number)s: record the payment in part or refund the difference.")
                % {"amount": amount, "currency": invoice.currency, "balance": balance,
                   "display_number": invoice.display_number}
            )
        payment = Payment.objects.create(invoice=invoice, amount=amount, currency=invoice.currency,
                                         received_on=received_on, reference=reference, method=method, recorded_by=by)
        audit(actor=by, organisation=invoice.organisation, action="payment.record", target=payment,
              payload={"invoice": invoice.display_number, "amount": amount, "reference": reference})
        fully_paid = amount == balance
        if fully_paid:
            _settle(invoice=invoice, by=by, reference=reference, actor_label=actor_label)
        # A usage invoice's payment is split by the report's attribution; every other one pro rata.
        pool_job = "attribution.pool" if invoice.reason == InvoiceReason.USAGE else "royalties.pool"
        jobs.schedule(pool_job, payment_id=payment.pk, dedupe=f"royalties.pool:{payment.pk}")
    log.info("payment_recorded", invoice=invoice.display_number, amount=str(amount), paid=fully_paid)
    return payment


def _settle(*, invoice, by, reference, actor_label=None):
    """Nothing more is owed on the invoice: it is paid and, for a commercial invoice, the licence
    becomes commercial (or the dunning suspension is lifted)."""
    invoice.status, invoice.paid_at = InvoiceStatus.PAID, timezone.now()
    invoice.save(update_fields=["status", "paid_at"])
    if invoice.reason not in (InvoiceReason.COMMERCIAL, InvoiceReason.RENEWAL):
        return
    licence = Licence.objects.get(pk=invoice.licence_id)
    label = actor_label or (None if by else "Tessera (payment job)")
    if licence.state == LicenceState.AWAITING_PAYMENT:
        licence_services.licence_record_payment(licence=licence, by=by, reference=reference, actor_label=label)
    else:
        licence_services.licence_lift_dunning_suspension(licence=licence, invoice=invoice, by=by, reference=reference,
                                                         actor_label=label)


def credit_note_issue(*, invoice, by, reason, amount=None):
    """Correct an issued invoice: in full (every line negated) or in part (one line for `amount`, gross).
    A fully credited invoice becomes void."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.is_credit_note or invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
            raise BillingRefused(_("Only issued or paid invoices can be credited; %(number)s is %(status)s.")
                                 % {"number": invoice.display_number, "status": invoice.get_status_display().lower()})
        if not (reason or "").strip():
            raise BillingRefused(_("Say why the invoice is credited: the reason is printed on the credit note."))
        creditable = invoice.gross_total - invoice.credited_amount
        if amount is None:
            if creditable != invoice.gross_total:
                raise BillingRefused(_("%(display_number)s is already partly credited; credit the remaining %(creditable)s "
                                       "%(currency)s as a partial credit.")
                                     % {"display_number": invoice.display_number, "creditable": creditable,
                                        "currency": invoice.currency})
            lines = [(f"Credit: {line.description}", line.quantity, -line.unit_price, -line.net_amount,
                      -line.tax_amount, -line.gross_amount) for line in invoice.lines.all()]
        else:
            amount = round_money(amount)
            if amount <= 0 or amount > creditable:
                raise BillingRefused(_("A partial credit must be more than 0 and at most %(creditable)s %(currency)s.")
                                     % {"creditable": creditable, "currency": invoice.currency})
            # The amount is tax included: the tax is taken out of it, so that the note credits exactly
            # that amount. Working forward from a rounded net misses about one amount in six by a cent.
            tax = round_money(amount * invoice.tax_rate / (100 + invoice.tax_rate))
            net = amount - tax
            lines = [(f"Partial credit of {invoice.display_number}: {reason}", Decimal("1"), -net, -net, -tax,
                      -amount)]
        note = invoice_draft(licence=invoice.licence, reason=InvoiceReason.CREDIT, lines=lines,
                             currency=invoice.currency, kind=InvoiceKind.CREDIT_NOTE, corrects=invoice,
                             tax_rate=invoice.tax_rate, period_start=invoice.period_start,
                             period_end=invoice.period_end)
        note = invoice_issue(invoice=note)
        audit(actor=by, organisation=invoice.organisation, action="credit_note.issue", target=note,
              payload={"corrects": invoice.display_number, "reason": reason, "gross": note.gross_total})
        if invoice.gross_total - invoice.credited_amount <= 0:
            invoice.status = InvoiceStatus.VOID
            invoice.save(update_fields=["status"])
        elif invoice.status == InvoiceStatus.ISSUED and invoice.balance <= 0:
            # Paid in part and the rest credited: nothing is owed, so dunning must not chase it.
            _settle(invoice=invoice, by=by, reference=note.display_number)
        jobs.schedule("royalties.reverse", credit_note_id=note.pk, dedupe=f"royalties.reverse:{note.pk}")
    return note


def dunning_run(*, today=None):
    """Remind at the due date and again later, then suspend the licence. Each step happens once."""
    today = today or timezone.now().date()
    steps = 0
    overdue = Invoice.objects.select_related("licence__organisation").filter(
        kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED, due_date__lte=today
    )
    for invoice in overdue:
        days_late = (today - invoice.due_date).days
        if days_late >= settings.DUNNING_SUSPEND_DAYS:
            licence = invoice.licence
            if licence.state in (LicenceState.AWAITING_PAYMENT, LicenceState.COMMERCIAL_ACTIVE, LicenceState.RESEARCH_ACTIVE):
                try:
                    licence_services.licence_suspend(
                        licence=licence, by=None, actor_label="Tessera (dunning job)",
                        reason=f"{invoice.display_number} is {days_late} days overdue.",
                        dunning_invoice=invoice,
                    )
                    steps += 1
                except LicenceActionRefused as refusal:
                    # An admin acted on the licence since it was read: theirs is the decision that stands.
                    log.info("dunning_suspension_skipped", invoice=invoice.display_number, reason=str(refusal))
        if days_late >= 1:  # on the due date itself it is due, not yet overdue
            with transaction.atomic():
                webhook_emit(organisation_id=invoice.organisation_id, event_type="invoice.overdue",
                             data={**invoice_event(invoice), "days_late": days_late},
                             dedupe=f"invoice.overdue:{invoice.pk}")
        stage = 2 if days_late >= settings.DUNNING_SECOND_REMINDER_DAYS else 1
        steps += notifications.send_payment_reminders(invoice, stage=stage, days_late=days_late)
    return steps


def invoice_pdf_key(invoice):
    return f"invoices/{invoice.year}/{invoice.display_number}.pdf"


def invoice_pdf_store(*, invoice_id, force=False):
    invoice = Invoice.objects.select_related("corrects").filter(pk=invoice_id).first()
    if invoice is None or invoice.status == InvoiceStatus.DRAFT:
        return None
    key = invoice_pdf_key(invoice)
    if invoice.pdf and default_storage.exists(invoice.pdf) and not force:
        return invoice
    data = render_invoice_pdf(invoice)
    if default_storage.exists(key):
        default_storage.delete(key)
    default_storage.save(key, ContentFile(data))
    with transaction.atomic():
        first = not invoice.pdf
        Invoice.objects.filter(pk=invoice.pk).update(pdf=key, pdf_rendered_at=timezone.now())
        if first:
            audit(actor=None, organisation=invoice.organisation, action="invoice.pdf", target=invoice,
                  payload={"number": invoice.display_number})
    invoice.pdf = key
    return invoice


def invoice_document_deliver(*, invoice_id):
    """The job after an invoice is issued: store its PDF, then e-mail the licensee once (credit notes
    are not announced). Running it again sends nothing twice."""
    invoice = invoice_pdf_store(invoice_id=invoice_id)
    if invoice is not None and not invoice.is_credit_note:
        notifications.send_invoice_issued(invoice)
    return invoice


def invoice_pdf_bytes(invoice):
    """The stored PDF, rendered first when it is missing (a lost file, or the job not run yet)."""
    if not invoice.pdf or not default_storage.exists(invoice.pdf):
        invoice = invoice_pdf_store(invoice_id=invoice.pk, force=True)
    with default_storage.open(invoice.pdf) as handle:
        return handle.read()
