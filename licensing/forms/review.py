"""The review queues' filters."""

from django import forms


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(required=False)
    organisation = forms.CharField(required=False, label="Organisation")
    older_than_days = forms.IntegerField(required=False, min_value=0, label="Waiting at least (days)")

    def __init__(self, *args, states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "All in this queue"), *states]
