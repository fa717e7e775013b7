"""Catalogue forms: a feed to bring in, a takedown, a cleared training signal."""
from django import forms

from licensing.feeds import detect_format

MAX_FEED_BYTES = 512 * 1024 * 1024


class FeedUploadForm(forms.Form):
    feed = forms.FileField(label="Catalogue feed (CSV or JSON Lines)",
                           help_text="One row per work; a feed brought in again changes only what differs.")

    def clean_feed(self):
        feed = self.cleaned_data["feed"]
        if detect_format(feed.name) is None:
            raise forms.ValidationError("Upload a .csv or a .jsonl file.")
        if feed.size > MAX_FEED_BYTES:
            raise forms.ValidationError("A feed holds at most 512 MiB; split it, or use manage.py ingest_catalog.")
        return feed


class TakedownForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="Reason",
                             help_text="Every licensee holding the work reads this when its download answers 410.")


class ClearSignalForm(forms.Form):
    note = forms.CharField(required=False, max_length=500, label="How the constraint was settled")
