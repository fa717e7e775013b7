import re

from django import forms

from accounts.models import ApiKey, Organisation


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")
    country = forms.CharField(help_text="Two-letter ISO 3166 code, e.g. DE.")

    class Meta:
        model = Organisation
        fields = ["name", "legal_name", "kind", "country", "vat_id", "billing_address", "website"]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise forms.ValidationError("Use the two-letter ISO 3166 country code, e.g. DE or US.")
        return country


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
