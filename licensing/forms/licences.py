"""The application form and the forms of the workflow actions."""
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core import validators
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing import formats
from licensing.models import (
    BillingPeriod,
    Collection,
    Disclosure,
    Licence,
    MediaKind,
    OfferCoverage,
    ReportingPeriod,
)
from licensing.services.licences import APPLICATION_FIELDS, CURRENCIES

GIB = 1024**3

# What the licence's columns hold: counts are PostgreSQL integers, byte caps bigints (counted in
# bytes, so a cap in GiB must stay under 2^63 bytes), money twelve digits with its tax added.
MAX_COUNT = 2**31 - 1
MAX_GIB = (2**63 - 1) // GIB
MAX_FEE = Decimal("999999999.99")
MAX_TEAM = 100_000
# Long enough for anything a person writes in these boxes; a page of text is not a reason.
LONG_TEXT = 5000
SHORT_TEXT = 2000


AT_MOST = {
    "assets": _("At most %(limit)s assets."),
    "people": _("At most %(limit)s people."),
    "slices": _("At most %(limit)s slices."),
    "GiB": _("At most %(limit)s GiB."),
}
AT_MOST_OR_NO_CAP = {
    "assets": _("At most %(limit)s assets. Leave it empty for no cap."),
    "slices": _("At most %(limit)s slices. Leave it empty for no cap."),
    "GiB": _("At most %(limit)s GiB. Leave it empty for no cap."),
}


def _at_most(limit, what, unlimited=False):
    """The message of a cap above what the licence can count, saying what to do instead (written when it is
    shown, in the reader's language)."""
    message = (AT_MOST_OR_NO_CAP if unlimited else AT_MOST)[what]
    return {"max_value": lazy(lambda: str(message) % {"limit": formats.count(limit)}, str)()}


class ApplicationForm(forms.ModelForm):
    media_kinds = forms.MultipleChoiceField(
        choices=MediaKind.plural_choices(), widget=forms.CheckboxSelectMultiple, label=_("Media kinds needed")
    )
    accept_terms = forms.BooleanField(
        required=True,
        label=_("I accept the research licence terms on behalf of my organisation"),
        help_text=_("Needed to submit. You can save a draft without it."),
    )

    class Meta:
        model = Licence
        fields = list(APPLICATION_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "intended_use": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "description": _("What the project is and what you want to learn from the data."),
            "estimated_volume": _("How many images and videos you expect to need for research."),
        }
        labels = {"project_title": _("Project title"), "description": _("Description"), "model_type": _("Model type"),
                  "team_size": _("Team size"), "funding_stage": _("Funding stage")}

    def __init__(self, *args, terms_already_accepted=False, draft=False, **kwargs):
        super().__init__(*args, **kwargs)
        for name, limit, what in (("estimated_volume", MAX_COUNT, "assets"), ("team_size", MAX_TEAM, "people")):
            field = self.fields[name]
            field.max_value = limit
            field.validators.append(validators.MaxValueValidator(limit))
            field.error_messages.update(_at_most(limit, what))
            field.widget.attrs["max"] = limit
        for name in ("description", "intended_use"):
            field = self.fields[name]
            field.max_length = LONG_TEXT
            field.validators.append(validators.MaxLengthValidator(LONG_TEXT))
            field.widget.attrs["maxlength"] = LONG_TEXT
        if terms_already_accepted:
            self.fields["accept_terms"].initial = True
        # A draft may be saved before the terms are read; submitting needs them.
        self.fields["accept_terms"].required = not draft and not terms_already_accepted

    def application(self):
        data = {key: self.cleaned_data[key] for key in APPLICATION_FIELDS}
        return data, bool(self.cleaned_data.get("accept_terms"))


class VersionedForm(forms.Form):
    """Carries the licence version the page showed, so a stale page cannot act."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class ConfirmForm(VersionedForm):
    pass


class AcceptOfferForm(VersionedForm):
    agree = forms.BooleanField(
        label=_("I accept the commercial offer above on behalf of my organisation, and its invoice."),
        error_messages={"required": _("Tick the box to accept the offer: accepting issues the invoice.")},
    )

    def service_kwargs(self):
        return {}


class ReasonForm(VersionedForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"), max_length=SHORT_TEXT,
                             help_text=_("The applicant sees this on the licence page and in the e-mail."))


class MessageForm(VersionedForm):
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("What should the applicant change?"),
                              max_length=LONG_TEXT)


class ApproveForm(VersionedForm):
    max_assets = forms.IntegerField(min_value=1, max_value=MAX_COUNT, label=_("Most assets"),
                                    error_messages=_at_most(MAX_COUNT, "assets"))
    max_gigabytes = forms.DecimalField(min_value=Decimal("0.001"), max_value=MAX_GIB, decimal_places=3,
                                       label=_("Most data (GiB)"), error_messages=_at_most(MAX_GIB, "GiB"))
    max_slices = forms.IntegerField(min_value=1, max_value=MAX_COUNT, label=_("Most slices"),
                                    error_messages=_at_most(MAX_COUNT, "slices"))
    duration_days = forms.IntegerField(min_value=1, max_value=730, label=_("Duration (days)"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note to the applicant"),
                           max_length=SHORT_TEXT)

    @classmethod
    def defaults(cls, licence=None):
        """The caps offered to the reviewer: the number of assets the applicant said it needs, and the
        house defaults for the rest."""
        estimated = getattr(licence, "estimated_volume", None)
        return {
            "max_assets": estimated or settings.RESEARCH_DEFAULT_MAX_ASSETS,
            "max_gigabytes": Decimal(settings.RESEARCH_DEFAULT_MAX_BYTES) / GIB,
            "max_slices": settings.RESEARCH_DEFAULT_MAX_SLICES,
            "duration_days": settings.RESEARCH_DEFAULT_DURATION_DAYS,
        }

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            "max_assets": data["max_assets"],
            "max_bytes": int(data["max_gigabytes"] * GIB),
            "max_slices": data["max_slices"],
            "duration_days": data["duration_days"],
            "note": data["note"],
        }


class UpgradeRequestForm(VersionedForm):
    intended_use = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Intended commercial use"),
                                   max_length=LONG_TEXT)
    expected_scale = forms.CharField(max_length=300, label=_("Expected scale"),
                                     help_text=_("For example: 200,000 images a year for a product model."))


class OfferForm(VersionedForm):
    fee = forms.DecimalField(min_value=0, max_value=MAX_FEE, decimal_places=2, label=_("Fee, excluding VAT"),
                             help_text=lazy(lambda: gettext(
                                 "The invoice adds VAT at %(rate)s%%; the licensee sees both amounts before "
                                 "accepting.") % {"rate": formats.decimal(settings.INVOICE_TAX_RATE)}, str)(),
                             error_messages={"max_value": lazy(lambda: gettext(
                                 "At most %(fee)s: with its tax, a larger fee does not fit an invoice.")
                                 % {"fee": formats.money(MAX_FEE)}, str)()})
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in CURRENCIES])
    billing_period = forms.ChoiceField(label=_("Billing period"), choices=BillingPeriod.choices)
    term_months = forms.IntegerField(min_value=1, max_value=120, initial=12, label=_("Term (months)"))
    scope = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Licensed purpose"),
                            max_length=SHORT_TEXT)
    territory = forms.CharField(label=_("Territory"), max_length=200, initial="Worldwide")
    max_assets = forms.IntegerField(min_value=1, max_value=MAX_COUNT, required=False, label=_("Most assets"),
                                    help_text=_("Empty: unlimited."),
                                    error_messages=_at_most(MAX_COUNT, "assets", True))
    max_gigabytes = forms.DecimalField(min_value=Decimal("0.001"), max_value=MAX_GIB, decimal_places=3, required=False,
                                       label=_("Most data (GiB)"), help_text=_("Empty: unlimited."),
                                       error_messages=_at_most(MAX_GIB, "GiB", True))
    max_slices = forms.IntegerField(min_value=1, max_value=MAX_COUNT, required=False, label=_("Most slices"),
                                    help_text=_("Empty: unlimited."),
                                    error_messages=_at_most(MAX_COUNT, "slices", True))
    disclosure = forms.ChoiceField(
        choices=Disclosure.choices, initial=Disclosure.NONE, required=False, label=_("Disclosure of trained models"),
        help_text=_("Whether the licensee must say which of its AI models were trained on the licensed works: on a "
                    "public model page (a private model cannot then be released), to the licensor only, or not at all."))
    coverage = forms.ChoiceField(choices=OfferCoverage.choices, initial=OfferCoverage.SLICES, label=_("Covers"),
                                 required=False, help_text=_("Empty: the licence's slices."))
    collections = forms.ModelMultipleChoiceField(
        queryset=Collection.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
        label=_("Collections"), help_text=_("When it covers listed collections: granted whole, in one slice, once paid."))
    exclusive = forms.BooleanField(required=False, label=_("Exclusive for the term"),
                                   help_text=_("No other licence may be granted these works while it runs."))
    custom_model = forms.CharField(required=False, max_length=200, label=_("Only for a custom model"),
                                   help_text=_("The model's name: the works may train only this model."))
    attribution_rate = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, required=False, label=_("Attribution rate (%)"),
        help_text=_("The share of the revenue each usage report declares that the licensee pays, split between the "
                    "contributors by attribution. Empty: the royalty share."))
    reporting_period = forms.ChoiceField(choices=ReportingPeriod.choices, initial=ReportingPeriod.QUARTERLY,
                                         required=False, label=_("Usage reported"))
    reporting_days = forms.IntegerField(min_value=1, max_value=366, initial=30, required=False,
                                        label=_("Usage report due (days after each period)"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note to the applicant"),
                           max_length=SHORT_TEXT)

    def clean(self):
        data = super().clean()
        data["coverage"] = data.get("coverage") or OfferCoverage.SLICES
        if data["coverage"] == OfferCoverage.COLLECTIONS and not data.get("collections"):
            self.add_error("collections", gettext("Choose the collections the offer covers."))
        return data

    def service_kwargs(self):
        data = dict(self.cleaned_data)
        data.pop("version")
        percent = data.pop("attribution_rate")
        data["attribution_rate"] = None if percent is None else (percent / 100).quantize(Decimal("0.0001"))
        data["reporting_period"] = data.get("reporting_period") or ReportingPeriod.QUARTERLY
        data["reporting_days"] = data.get("reporting_days") or 30
        gigabytes = data.pop("max_gigabytes")
        data["max_bytes"] = None if gigabytes is None else int(gigabytes * GIB)
        data["disclosure"] = data.get("disclosure") or Disclosure.NONE  # an offer that says nothing asks for none
        data["collections"] = list(data["collections"] or [])
        return data


# Which form each action takes on the licence page, and the label of its button. Payments are
# recorded against invoices (finance pages), which move the licence through record_payment.
@dataclass(frozen=True)
class ActionPage:
    """How a workflow action appears on the licence page. With its row in workflow.TABLE, its
    service `licence_<action>` and its e-mail text (notifications.EVENT_MESSAGES), this is all
    a new action needs."""

    form: type
    button: str
    done: str  # what the person sees after it went through: what happened and what comes next
    primary: bool = False  # the step that moves the licence on: shown first and unfolded
    danger: bool = False


ACTION_PAGES = {
    "submit": ActionPage(ConfirmForm, _("Submit for review"), primary=True, done=_(
        "Application submitted: the reviewers have been told, and you will get an e-mail when they decide.")),
    "withdraw": ActionPage(ConfirmForm, _("Withdraw the application"), danger=True, done=_("Application withdrawn.")),
    "request_changes": ActionPage(MessageForm, _("Request changes"), done=_(
        "Changes requested: the applicant has been e-mailed your message.")),
    "approve": ActionPage(ApproveForm, _("Approve"), primary=True, done=_(
        "Research licence approved: the applicant can now request data slices.")),
    "reject": ActionPage(ReasonForm, _("Reject"), danger=True, done=_(
        "Application rejected: the applicant has been e-mailed the reason.")),
    "request_upgrade": ActionPage(UpgradeRequestForm, _("Ask for a commercial licence"), done=_(
        "Upgrade requested: the licensor will answer with a commercial offer.")),
    "make_offer": ActionPage(OfferForm, _("Send the offer"), primary=True, done=_(
        "Offer sent: the licensee has been e-mailed and can accept it on this page.")),
    "decline_upgrade": ActionPage(ReasonForm, _("Decline the upgrade"), danger=True, done=_(
        "Upgrade declined: the licensee has been e-mailed the reason.")),
    "accept_offer": ActionPage(AcceptOfferForm, _("Accept the offer"), primary=True, done=_(
        "Offer accepted: the invoice is on its way, and the licence becomes commercial once it is paid.")),
    "suspend": ActionPage(ReasonForm, _("Suspend"), danger=True, done=_(
        "Licence suspended: its downloads and new slices are stopped until it is reinstated.")),
    "reinstate": ActionPage(ConfirmForm, _("Reinstate"), primary=True, done=_("Licence reinstated.")),
    "revoke": ActionPage(ReasonForm, _("Revoke"), danger=True, done=_(
        "Licence revoked: the licensee has been e-mailed the reason.")),
}
