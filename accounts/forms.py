from django import forms
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from accounts.models import ApiKey, Organisation


class CountryChoiceField(LazyTypedChoiceField):
    """A select of ISO 3166 countries that also takes a code typed in lower case ("fr")."""

    def to_python(self, value):
        return super().to_python(value).strip().upper()


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")
    country = CountryChoiceField(
        choices=lambda: [("", "Choose a country"), *countries],
        error_messages={"invalid_choice": "Choose the country from the list: “%(value)s” is not a two-letter "
                                          "ISO 3166 country code."},
    )

    class Meta:
        model = Organisation
        fields = ["name", "legal_name", "kind", "country", "vat_id", "billing_address", "website"]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"vat_id": "As your tax office issued it, e.g. DE123456789. Leave empty if you have none."}


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail address of the person to invite")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “training pipeline”.")
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple, initial=["licences:read", "slices:read", "slices:write"],
    )
    expires_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label="Expires after (days)",
                                      help_text="Empty: never expires.")
