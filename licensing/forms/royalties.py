"""Finance's royalty forms: closing a month, marking payouts as made."""
from django import forms


class PeriodCloseForm(forms.Form):
    month = forms.ChoiceField(label="Month to close")

    def __init__(self, *args, months=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [(f"{m:%Y-%m}", f"{m:%B %Y}") for m in months]


class PayoutsPaidForm(forms.Form):
    references = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Payout references (optional)",
        help_text="One per line, as on the bank's report. Leave empty to mark every payout of the month as made.",
    )

    def reference_list(self):
        text = self.cleaned_data["references"].replace(",", "\n")
        references = [line.strip() for line in text.splitlines() if line.strip()]
        return references or None
