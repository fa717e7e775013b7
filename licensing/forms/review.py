"""The review queues' filters."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing import formats

# A century: any licence is younger, and the date a longer wait would point at is before the calendar's start.
MAX_DAYS = 36500


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False)
    organisation = forms.CharField(required=False, max_length=200, label=_("Organisation"))
    older_than_days = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_DAYS, label=_("Waiting at least (days)"),
        error_messages={"max_value": lazy(lambda: gettext("At most %(days)s days (a hundred years).")
                                          % {"days": formats.count(MAX_DAYS)}, str)()},
    )

    def __init__(self, *args, states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", gettext("All in this queue")), *states]
