"""The catalogue's filters, read from the query string: anything unexpected is dropped, never an error page."""
from django import forms

from licensing.selectors.catalogue import DURATIONS, KINDS, RESOLUTIONS


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search titles and tags")
    kind = forms.ChoiceField(required=False, choices=[("", "Any"), *KINDS.items()])
    resolution = forms.ChoiceField(required=False, choices=[("", "Any"), *((k, v[0]) for k, v in RESOLUTIONS.items())])
    duration = forms.ChoiceField(required=False, choices=[("", "Any"), *((k, v[0]) for k, v in DURATIONS.items())])
    tags = forms.CharField(required=False)
    after = forms.IntegerField(required=False, min_value=1)
    before = forms.IntegerField(required=False, min_value=1)

    def filters(self):
        """The valid filters; an invalid value counts as not given."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters = {}
        for name in ("q", "kind", "resolution", "duration"):
            if data.get(name) and name not in self.errors:
                filters[name] = data[name].strip() if name == "q" else data[name]
        tags = sorted({t.strip().lower() for t in self.data.getlist("tags") if t.strip()})[:10] \
            if hasattr(self.data, "getlist") else []
        if tags:
            filters["tags"] = [t[:50] for t in tags]
        if filters.get("kind") == "image":
            filters.pop("duration", None)
        return filters

    def cursor(self):
        data = getattr(self, "cleaned_data", {})
        return {"after": data.get("after") if "after" not in self.errors else None,
                "before": data.get("before") if "before" not in self.errors else None}
