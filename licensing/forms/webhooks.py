from django import forms
from django.utils.translation import gettext_lazy

from licensing.models import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("Endpoint URL"), max_length=500, assume_scheme="https",
                         help_text=gettext_lazy("Where Tessera POSTs events, e.g. https://pipeline.example/hooks/tessera."))
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), choices=EVENT_TYPES,
                                       widget=forms.CheckboxSelectMultiple,
                                       initial=[name for name, _ in EVENT_TYPES])
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False,
                                  help_text=gettext_lazy("What listens there (optional)."))
