"""Forms of the contributor portal."""
from django import forms
from django.utils.translation import gettext_lazy as _

from licensing.models import Asset


class WorksFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", _("Images and videos")), *Asset.Kind.choices], required=False,
                             label=_("Kind"))
    title = forms.CharField(required=False, max_length=100, label=_("Title contains"))


class OptOutConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True, label=_("I have read what this changes and want to opt out of AI training"),
    )
    note = forms.CharField(
        required=False, max_length=300, label=_("Why (optional)"),
        help_text=_("Kept in your history; only you and Tessera staff see it."),
    )


class OptInConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True, label=_("I want my works to be offered for AI training again"),
    )
    note = forms.CharField(
        required=False, max_length=300, label=_("Why (optional)"),
        help_text=_("Kept in your history; only you and Tessera staff see it."),
    )
