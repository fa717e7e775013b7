"""Which invoices a person may see, and the finance lists."""


from accounts.roles import FINANCE, LICENSOR_ADMIN, has_role
from licensing.models import Invoice, Payment
from licensing.months import add_months
from licensing.selectors.organisations import organisation_scoped
from licensing.spreadsheets import header


def issued_invoices():
    """What a licensee may see of its invoices: those issued (drafts are finance's work in progress)."""
    return Invoice.objects.exclude(number__isnull=True)


def invoices_of_organisation(*, organisation_id):
    return issued_invoices().filter(organisation_id=organisation_id)


def invoices_visible_to(*, user):
    """Finance and licensor admins see every invoice; a licensee sees its organisation's issued ones."""
    if user.is_authenticated and has_role(user, FINANCE, LICENSOR_ADMIN):
        return Invoice.objects.select_related("organisation", "licence", "corrects")
    return organisation_scoped(issued_invoices().select_related("organisation", "licence", "corrects"), user=user,
                               staff_sees_all=lambda person: False)


def books_rows(*, month):
    """Finance's export for the books: the month's issued invoices and received payments."""
    start, end = month, add_months(month)
    yield header("record", "number", "kind", "issued_or_received", "organisation", "vat_id", "currency", "net", "tax",
           "gross", "status", "reference", "corrects")
    invoices = Invoice.objects.select_related("corrects").filter(issued_at__date__gte=start, issued_at__date__lt=end)
    for inv in invoices.order_by("issued_at").iterator(chunk_size=2000):
        yield ["invoice", inv.display_number, inv.kind, inv.issued_at.date().isoformat(), inv.buyer.get("name"),
               inv.buyer.get("vat_id"), inv.currency, inv.net_total, inv.tax_total, inv.gross_total, inv.status, "",
               inv.corrects.display_number if inv.corrects_id else ""]
    payments = Payment.objects.select_related("invoice").filter(received_on__gte=start, received_on__lt=end)
    for pay in payments.order_by("received_on", "id").iterator(chunk_size=2000):
        yield ["payment", pay.invoice.display_number, "payment", pay.received_on.isoformat(),
               pay.invoice.buyer.get("name"), pay.invoice.buyer.get("vat_id"), pay.currency, "", "", pay.amount, "",
               pay.reference, ""]
