"""The slice request form."""

from django import forms

from licensing.models import MediaKind


class SliceRequestForm(forms.Form):
    size = forms.IntegerField(min_value=1, label="Number of assets")
    kind = forms.ChoiceField(choices=[("", "Images and videos"), *MediaKind.plural_choices()],
                             required=False, label="Media kind")
    min_width = forms.IntegerField(min_value=0, required=False, label="Minimum width (px)")
    min_height = forms.IntegerField(min_value=0, required=False, label="Minimum height (px)")
    min_duration = forms.FloatField(min_value=0, required=False, label="Minimum video duration (s)")
    max_duration = forms.FloatField(min_value=0, required=False, label="Maximum video duration (s)")
    tags = forms.CharField(required=False, label="Tags (any of, comma-separated)")
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, required=False,
                              help_text="Optional. The same seed over the same catalogue gives the same slice.")

    def clean(self):
        data = super().clean()
        if data.get("min_duration") is not None and data.get("max_duration") is not None \
                and data["min_duration"] > data["max_duration"]:
            self.add_error("max_duration", "Must be at least the minimum duration.")
        return data

    def service_kwargs(self):
        data = dict(self.cleaned_data)
        tags = [t.strip() for t in (data.pop("tags") or "").split(",") if t.strip()]
        data["tags"] = tags or None
        data["kind"] = data["kind"] or None
        return {key: value for key, value in data.items() if value is not None or key == "seed"}
