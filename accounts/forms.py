from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from accounts import services
from accounts.models import ApiKey, Organisation


class CountryChoiceField(LazyTypedChoiceField):
    """A select of ISO 3166 countries that also takes a code typed in lower case ("fr")."""

    def to_python(self, value):
        return super().to_python(value).strip().upper()


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https", max_length=200)
    country = CountryChoiceField(
        choices=lambda: [("", _("Choose a country")), *countries],
        error_messages={"invalid_choice": _("Choose the country from the list: “%(value)s” is not a two-letter "
                                            "ISO 3166 country code.")},
    )
    # Printed on every invoice: a few lines, not a page.
    billing_address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)

    class Meta:
        model = Organisation
        fields = ["name", "legal_name", "kind", "country", "vat_id", "billing_address", "website"]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}
        labels = {"name": _("Name"), "legal_name": _("Legal name"), "kind": _("Kind"), "country": _("Country"),
                  "vat_id": _("VAT id"), "billing_address": _("Billing address"), "website": _("Website")}
        help_texts = {"vat_id": _("As your tax office issued it, e.g. DE123456789. Leave empty if you have none.")}


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address of the person to invite"), max_length=254)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What will use it, e.g. “training pipeline”."))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=[(s, s) for s in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple, initial=["licences:read", "slices:read", "slices:write"],
    )
    expires_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label=_("Expires after (days)"),
                                      help_text=_("Empty: never expires."))


class SignupForm(AllauthSignupForm):
    """Sign-up in Tessera's words, asking for the name shown on timelines and invoices."""

    full_name = forms.CharField(max_length=200, label=_("Your name"),
                                help_text=_("As colleagues and the licensor will see it."),
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {"email": _("Work e-mail address"), "password1": _("Password"), "password2": _("Password again")}
        for name, label in labels.items():
            if name in self.fields:
                self.fields[name].label = label
                self.fields[name].widget.attrs.pop("placeholder", None)
        if "password1" in self.fields:
            self.fields["password1"].help_text = _("At least 8 characters; not only digits, not a common password.")
        self.order_fields(["full_name", "email", "password1", "password2"])

    def custom_signup(self, request, user):
        services.user_name_set(user=user, full_name=self.cleaned_data["full_name"])


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {"login": _("E-mail address"), "password": _("Password"),
                  "remember": _("Keep me logged in on this device")}
        for name, label in labels.items():
            if name in self.fields:
                self.fields[name].label = label
                self.fields[name].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""


class ResetPasswordForm(AllauthResetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("E-mail address")
        self.fields["email"].widget.attrs.pop("placeholder", None)


class LanguageForm(forms.Form):
    """The language switcher. It posts to `set_language`, which also saves a signed-in user's choice;
    "No preference" (empty) leaves the language to the browser again."""

    language = forms.ChoiceField(label=_("Language"), required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, allow_none=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = list(settings.LANGUAGES)
        if allow_none:
            choices.insert(0, ("", _("No preference: my browser's language")))
        self.fields["language"].choices = choices

    @classmethod
    def for_request(cls, request, user=None):
        saved = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        signed_in = user is not None and user.is_authenticated
        return cls(allow_none=signed_in, initial={
            "language": saved if signed_in else translation.get_language(),
            "next": request.get_full_path() if request is not None else "",
        })
