from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")


def round_money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceReason(models.TextChoices):
    COMMERCIAL = "commercial", _("Commercial licence")
    RENEWAL = "renewal", _("Commercial licence renewal")
    RESEARCH_FEE = "research_fee", _("Research licence fee")
    CREDIT = "credit", _("Credit")
    USAGE = "usage", _("Usage by attribution")


class Invoice(models.Model):
    """An invoice or a credit note. Numbered only when issued, gapless per series and year.

    Once issued it is a snapshot: the parties' names, addresses and VAT ids, the tax rate
    and the lines are copied onto it and never change. Corrections are credit notes.
    """

    IMMUTABLE_ONCE_ISSUED = (
        "kind", "series", "year", "number", "licence_id", "organisation_id", "currency", "tax_rate", "issued_at",
        "due_date", "issuer", "buyer", "net_total", "tax_total", "gross_total", "corrects_id", "period_start",
        "period_end",
    )

    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    reason = models.CharField(max_length=20, choices=InvoiceReason.choices)
    series = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    number = models.PositiveIntegerField(null=True, blank=True)
    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="invoices")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="invoices")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text=_("Percent."))
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    issuer = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)
    net_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    gross_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes")
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True,
                                  help_text=_("What this invoice is for, so that a job run twice makes one."))
    pdf = models.CharField(max_length=300, blank=True, help_text=_("Storage key of the rendered PDF."))
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["series", "year", "number"], condition=models.Q(number__isnull=False),
                                    name="invoice_number_unique_in_series_year"),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False, issued_at__isnull=False),
                name="invoice_issued_has_number",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="invoice_status_due_idx")]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self):
        if self.number is None:
            return f"Draft {self.get_kind_display().lower()} #{self.pk}"
        return f"{self.series}-{self.year}-{self.number:05d}"

    @property
    def is_credit_note(self):
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def paid_amount(self):
        return sum((p.amount for p in self.payments.all()), Decimal("0.00"))

    @property
    def credited_amount(self):
        return -sum((c.gross_total for c in self.credit_notes.all() if c.status != InvoiceStatus.DRAFT), Decimal("0.00"))

    @property
    def balance(self):
        """What the buyer still owes: the total, less payments and credit notes."""
        return self.gross_total - self.paid_amount - self.credited_amount

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            stored = Invoice.objects.filter(pk=self.pk).values(*self.IMMUTABLE_ONCE_ISSUED, "status").first()
            if stored and stored["status"] != InvoiceStatus.DRAFT:
                changed = [f for f in self.IMMUTABLE_ONCE_ISSUED if stored[f] != getattr(self, f)]
                if changed:
                    raise ValidationError(
                        f"{self.display_number} is issued and cannot be edited ({', '.join(changed)}); "
                        "issue a credit note to correct it."
                    )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status != InvoiceStatus.DRAFT:
            raise ValidationError(f"{self.display_number} is issued and cannot be deleted; issue a credit note.")
        return super().delete(*args, **kwargs)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    # Unit prices may be below a cent (a price per asset); amounts are rounded per line.
    unit_price = models.DecimalField(max_digits=16, decimal_places=6)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    net_amount = models.DecimalField(max_digits=12, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2)
    gross_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_unique")]

    def __str__(self):
        return self.description

    @staticmethod
    def amounts(quantity, unit_price, tax_rate):
        """Net, tax and gross of one line, each rounded half-up to the cent on the line."""
        net = round_money(Decimal(quantity) * Decimal(unit_price))
        tax = round_money(net * Decimal(tax_rate) / 100)
        return net, tax, net + tax


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CARD = "card", _("Card")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received against an invoice. Append-only: a mistaken payment is corrected by a credit note
    or a refund entry, never by editing this row."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    reference = models.CharField(max_length=100)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]

    def __str__(self):
        return f"{self.amount} {self.currency} on {self.received_on}"
