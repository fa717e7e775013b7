"""Forms of the contributor portal."""
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
