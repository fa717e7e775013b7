from django import forms

from licensing.models import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label="Endpoint URL", max_length=500, assume_scheme="https",
                         help_text="Where Tessera POSTs events, e.g. https://pipeline.example/hooks/tessera.")
    events = forms.MultipleChoiceField(choices=EVENT_TYPES, widget=forms.CheckboxSelectMultiple,
                                       initial=[name for name, _ in EVENT_TYPES])
    description = forms.CharField(max_length=200, required=False, help_text="What listens there (optional).")
