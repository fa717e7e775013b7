"""Forms of the contributor portal and of finance's royalty pages."""
from django import forms

from licensing.models import Asset


class WorksFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Images and videos"), *Asset.Kind.choices], required=False, label="Kind")
    title = forms.CharField(required=False, max_length=100, label="Title contains")


class OptOutConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True, label="I have read what this changes and want to opt out of AI training",
    )
    note = forms.CharField(
        required=False, max_length=300, label="Why (optional)",
        help_text="Kept in your history; only you and Tessera staff see it.",
    )


class OptInConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True, label="I want my works to be offered for AI training again",
    )
    note = forms.CharField(
        required=False, max_length=300, label="Why (optional)",
        help_text="Kept in your history; only you and Tessera staff see it.",
    )


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
