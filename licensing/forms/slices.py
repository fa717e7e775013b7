"""The slice request form. It parses what was typed; the slice service judges the filters."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing.models import MediaKind
from licensing.services.slices import (
    MAX_DURATION_SECONDS,
    MAX_PIXELS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    SliceRefused,
    clean_filters,
)

FILTERS = ("kind", "min_width", "min_height", "min_duration", "max_duration", "tags")


class SliceRequestForm(forms.Form):
    size = forms.IntegerField(min_value=1, label=_("Number of assets"))
    kind = forms.ChoiceField(choices=[("", _("Images and videos")), *MediaKind.plural_choices()],
                             required=False, label=_("Media kind"))
    # The widgets' limits only help the browser; the service's refusal is what is shown.
    min_width = forms.IntegerField(min_value=0, required=False, label=_("Minimum width (px)"),
                                   widget=forms.NumberInput(attrs={"max": MAX_PIXELS}))
    min_height = forms.IntegerField(min_value=0, required=False, label=_("Minimum height (px)"),
                                    widget=forms.NumberInput(attrs={"max": MAX_PIXELS}))
    min_duration = forms.FloatField(min_value=0, required=False, label=_("Minimum video duration (s)"),
                                    widget=forms.NumberInput(attrs={"max": MAX_DURATION_SECONDS, "step": "any"}))
    max_duration = forms.FloatField(min_value=0, required=False, label=_("Maximum video duration (s)"),
                                    widget=forms.NumberInput(attrs={"max": MAX_DURATION_SECONDS, "step": "any"}))
    # Room for every tag the service allows, with commas and spaces; longer text is not a list of tags.
    tags = forms.CharField(required=False, label=_("Tags (any of, comma-separated)"),
                           max_length=MAX_TAGS * (MAX_TAG_LENGTH + 2),
                           help_text=lazy(lambda: gettext("At most %(tags)s tags of up to %(length)s characters.")
                                          % {"tags": MAX_TAGS, "length": MAX_TAG_LENGTH}, str)())
    seed = forms.IntegerField(label=_("Seed"), min_value=0, max_value=2**31 - 1, required=False,
                              help_text=_("Optional. The same seed over the same catalogue gives the same slice."))

    def clean(self):
        data = super().clean()
        if data.get("min_duration") is not None and data.get("max_duration") is not None \
                and data["min_duration"] > data["max_duration"]:
            self.add_error("max_duration", gettext("Must be at least the minimum duration."))
        if self.errors:
            return data
        try:
            clean_filters(**{key: value for key, value in self.filter_values().items() if key in FILTERS})
        except SliceRefused as refusal:
            for name, problems in refusal.fields.items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, problem)
        return data

    def filter_values(self):
        data = dict(self.cleaned_data)
        tags = [t.strip() for t in (data.pop("tags", None) or "").split(",") if t.strip()]
        data["tags"] = tags or None
        data["kind"] = data.get("kind") or None
        return data

    def service_kwargs(self):
        data = self.filter_values()
        return {key: value for key, value in data.items() if value is not None or key == "seed"}
