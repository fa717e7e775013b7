"""Finance's forms: payments, credit notes, the invoice filter."""
from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing.models import InvoiceStatus, PaymentMethod
from licensing.months import FIRST_YEAR, LAST_YEAR, month_bounds


class PaymentRecordForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
                                help_text=_("VAT included: what arrived in the account."))
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(max_length=100, label=_("Payment reference"))
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)

    def clean_received_on(self):
        received_on = self.cleaned_data["received_on"]
        # The payment's royalties land in its month, and months are kept for these years only.
        if not FIRST_YEAR <= received_on.year <= LAST_YEAR:
            raise forms.ValidationError(gettext("Give a date from the year %(first)s to %(last)s.")
                                        % {"first": FIRST_YEAR, "last": LAST_YEAR})
        return received_on


class CreditNoteForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, help_text=_("Printed on the credit note."))
    amount = forms.DecimalField(required=False, min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
                                label=_("Amount to credit, tax included"),
                                help_text=_("Empty: credit the whole invoice, which voids it."))


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *InvoiceStatus.choices])
    series = forms.CharField(label=_("Series"), required=False, max_length=8)
    period = forms.CharField(required=False, label=_("Issued in (YYYY-MM)"), max_length=7)

    def clean_period(self):
        period = self.cleaned_data["period"]
        if period:
            try:
                year, month = (int(p) for p in period.split("-"))
                if not 1 <= month <= 12:
                    raise ValueError
            except ValueError:
                raise forms.ValidationError(gettext("Use YYYY-MM, e.g. 2026-11.")) from None
            # Searching the years before Tessera finds nothing, and says so; a year past the
            # calendar's has no month after it to end the search at.
            if not 1900 <= year <= LAST_YEAR:
                raise forms.ValidationError(gettext("Give a year from 1900 to %(last)s, e.g. 2026-11.")
                                            % {"last": LAST_YEAR})
            return date(year, month, 1)
        return None

    def filter(self, invoices):
        data = self.cleaned_data
        if data["status"]:
            invoices = invoices.filter(status=data["status"])
        if data["series"]:
            invoices = invoices.filter(series=data["series"].upper())
        if data["period"]:
            start, end = month_bounds(data["period"])
            invoices = invoices.filter(issued_at__gte=start, issued_at__lt=end)
        return invoices
