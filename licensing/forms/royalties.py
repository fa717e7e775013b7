"""Finance's royalty forms: closing a month, marking payouts as made."""
from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing import formats


class PeriodCloseForm(forms.Form):
    month = forms.ChoiceField(label=_("Month to close"))

    def __init__(self, *args, months=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [(f"{m:%Y-%m}", date_format(m, "F Y")) for m in months]


# As the payout's column holds them, and a bank report's worth of them.
REFERENCE_LENGTH = 60
MAX_REFERENCES = 10_000


class PayoutsPaidForm(forms.Form):
    references = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Payout references (optional)"),
        help_text=_("One per line, as on the bank's report. Leave empty to mark every payout of the month as made."),
        max_length=MAX_REFERENCES * (REFERENCE_LENGTH + 2),
    )

    def clean_references(self):
        text = self.cleaned_data["references"]
        references = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
        if len(references) > MAX_REFERENCES:
            raise forms.ValidationError(gettext("Give at most %(count)s references at a time.")
                                        % {"count": formats.count(MAX_REFERENCES)})
        for reference in references:
            if len(reference) > REFERENCE_LENGTH:
                raise forms.ValidationError(gettext("“%(reference)s…” is not a payout reference: they have at most "
                                                    "%(length)s characters.")
                                            % {"reference": reference[:20], "length": REFERENCE_LENGTH})
        return text

    def reference_list(self):
        text = self.cleaned_data["references"].replace(",", "\n")
        references = [line.strip() for line in text.splitlines() if line.strip()]
        return references or None
