"""The stored PDF of an issued invoice. Rendering again never changes the number or the content."""
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from licensing.invoice_pdf import render_invoice_pdf
from licensing.models import Invoice, InvoiceStatus


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
        Invoice.objects.filter(pk=invoice.pk).update(pdf=key, pdf_rendered_at=timezone.now())
    invoice.pdf = key
    return invoice


def invoice_pdf_bytes(invoice):
    """The stored PDF, rendered first when it is missing (a lost file, or the job not run yet)."""
    if not invoice.pdf or not default_storage.exists(invoice.pdf):
        invoice = invoice_pdf_store(invoice_id=invoice.pk, force=True)
    with default_storage.open(invoice.pdf) as handle:
        return handle.read()
