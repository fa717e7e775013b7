"""The usage report upload on a model version's page: the file and what it covers. The service judges it."""
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing.services.attribution import MAX_REPORT_BYTES


class UsageReportForm(forms.Form):
    file = forms.FileField(
        label=_("Usage report (JSONL or CSV)"),
        help_text=_("One output per line: its output_id, revenue (in the licence's currency, at most eight decimal "
                    "places) and scores, "
                    "an object of contributor id → score from 0 to 1 (asset_scores for works). CSV: the header "
                    "output_id,revenue,currency,scores with the scores as a JSON object."))
    reference = forms.CharField(label=_("Reference"), max_length=100,
                                help_text=_("Your id for the report, such as 2026-Q3; "
                                                            "sending it again changes nothing."))
    period_start = forms.DateField(label=_("Period from"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Period to"), widget=forms.DateInput(attrs={"type": "date"}))
    licence = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False, label=_("Licence"),
                                 help_text=_("Only when the version was trained under several commercial licences."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_REPORT_BYTES:
            raise forms.ValidationError(gettext("The report is too large: split it by period."))
        return upload

    def service_kwargs(self):
        data = self.cleaned_data
        return {"upload": data["file"], "reference": data["reference"], "period_start": data["period_start"],
                "period_end": data["period_end"], "licence_id": data.get("licence")}
