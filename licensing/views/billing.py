"""Finance pages, and the invoice PDF for the licensee."""
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import FINANCE, LICENSOR_ADMIN
from licensing.forms.billing import CreditNoteForm, InvoiceFilterForm, PaymentRecordForm
from licensing.models import Invoice
from licensing.months import FIRST_YEAR, LAST_YEAR, parse_month
from licensing.selectors.billing import books_rows, invoices_visible_to
from licensing.services import billing
from licensing.services.billing import invoice_pdf_bytes
from licensing.spreadsheets import csv_response
from licensing.views.access import staff_only


@login_required
def invoice_view(request, pk):
    """The licensee's invoice page: lines, VAT, totals, how to pay, the PDF. Another organisation's is a 404."""
    invoice = invoices_visible_to(user=request.user).filter(pk=pk).first()
    if invoice is None or invoice.number is None:
        raise Http404("No such invoice.")
    return render(request, "billing/invoice.html", {
        "invoice": invoice, "lines": invoice.lines.all(), "payments": invoice.payments.all(),
        "credit_notes": invoice.credit_notes.exclude(number__isnull=True),
        "bank": (invoice.issuer or {}).get("bank", {}),
    })


@login_required
def invoice_pdf(request, pk):
    invoice = invoices_visible_to(user=request.user).filter(pk=pk).first()
    if invoice is None or invoice.number is None:
        raise Http404("No such invoice.")
    response = HttpResponse(invoice_pdf_bytes(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.display_number}.pdf"'
    return response


@staff_only(FINANCE, LICENSOR_ADMIN)
def invoice_list(request):
    form = InvoiceFilterForm(request.GET or None)
    invoices = Invoice.objects.select_related("organisation", "licence").exclude(number__isnull=True)
    if form.is_valid():
        invoices = form.filter(invoices)
    page = Paginator(invoices.order_by("-issued_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "billing/invoice_list.html", {"form": form, "page": page})


# Both forms on the invoice page have an amount: the credit note's needs ids of its own, or its label
# and its errors would point at the payment's amount.
CREDIT_NOTE_IDS = "id_credit_%s"


def _invoice_or_404(pk):
    invoice = Invoice.objects.select_related("organisation", "licence", "corrects").filter(pk=pk).first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


@staff_only(FINANCE, LICENSOR_ADMIN)
def invoice_detail(request, pk, payment_form=None, credit_form=None, status=200):
    invoice = _invoice_or_404(pk)
    return render(request, "billing/invoice_detail.html", {
        "invoice": invoice,
        "payments": invoice.payments.all(),
        "credit_notes": invoice.credit_notes.exclude(number__isnull=True),
        # A date input takes only ISO dates: the localised initial value ("22/11/2026") would show as empty.
        "payment_form": payment_form or PaymentRecordForm(initial={"received_on": timezone.now().date().isoformat(),
                                                                   "amount": invoice.balance}),
        "credit_form": credit_form or CreditNoteForm(auto_id=CREDIT_NOTE_IDS),
    }, status=status)


@staff_only(FINANCE)
@require_POST
def payment_create(request, pk):
    invoice = _invoice_or_404(pk)
    form = PaymentRecordForm(request.POST)
    if not form.is_valid():
        return invoice_detail(request, pk, payment_form=form, status=400)
    try:
        billing.payment_record(invoice=invoice, by=request.user, **form.cleaned_data)
    except billing.BillingRefused as refusal:
        form.add_error("amount", str(refusal))
        return invoice_detail(request, pk, payment_form=form, status=400)
    invoice.refresh_from_db()
    messages.success(request, _("Payment recorded. %(number)s is %(status)s; %(balance)s %(currency)s still owed.")
                              % {"number": invoice.display_number, "status": invoice.get_status_display().lower(),
                                 "balance": invoice.balance, "currency": invoice.currency})
    return redirect("finance_invoice_detail", pk=pk)


@staff_only(FINANCE)
@require_POST
def credit_note_create(request, pk):
    invoice = _invoice_or_404(pk)
    form = CreditNoteForm(request.POST, auto_id=CREDIT_NOTE_IDS)
    if not form.is_valid():
        return invoice_detail(request, pk, credit_form=form, status=400)
    try:
        note = billing.credit_note_issue(invoice=invoice, by=request.user, reason=form.cleaned_data["reason"],
                                         amount=form.cleaned_data["amount"])
    except billing.BillingRefused as refusal:
        form.add_error(None, str(refusal))
        return invoice_detail(request, pk, credit_form=form, status=400)
    messages.success(request, _("Credit note %(display_number)s issued for %(gross_total)s %(currency)s.")
                              % {"display_number": note.display_number, "gross_total": note.gross_total,
                                 "currency": note.currency})
    return redirect("finance_invoice_detail", pk=pk)


@staff_only(FINANCE, LICENSOR_ADMIN)
def export_csv(request):
    """Invoices issued and payments received in one month, for the books."""
    period = request.GET.get("period", "")
    try:
        month = parse_month(period)
    except ValueError:
        if re.fullmatch(r"\d{4}-(0?[1-9]|1[0-2])", period):
            return HttpResponse(f"Give a year from {FIRST_YEAR} to {LAST_YEAR}: Tessera keeps no books for "
                                f"{period[:4]}.", status=400, content_type="text/plain")
        return HttpResponse("Give the period as YYYY-MM, e.g. ?period=2026-11.", status=400, content_type="text/plain")
    return csv_response(books_rows(month=month), f"tessera-{month:%Y-%m}.csv")
