"""The review queues' filters."""

from django import forms

# A century: any licence is younger, and the date a longer wait would point at is before the calendar's start.
MAX_DAYS = 36500


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(required=False)
    organisation = forms.CharField(required=False, max_length=200, label="Organisation")
    older_than_days = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_DAYS, label="Waiting at least (days)",
        error_messages={"max_value": f"At most {MAX_DAYS:,} days (a hundred years)."},
    )

    def __init__(self, *args, states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "All in this queue"), *states]
