"""Catalogue forms: a feed to bring in, a takedown, a cleared training signal.

The catalogue's filters, read from the query string: anything unexpected is dropped, never an error page.
"""
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from licensing.feeds import detect_format, parse_rightsholders
from licensing.models import Contributor
from licensing.selectors.catalogue import DURATIONS, KINDS, RESOLUTIONS

MAX_FEED_BYTES = 512 * 1024 * 1024


class FeedUploadForm(forms.Form):
    feed = forms.FileField(label=_("Catalogue feed (CSV or JSON Lines)"),
                           help_text=_("One row per work; a feed brought in again changes only what differs."))

    def clean_feed(self):
        feed = self.cleaned_data["feed"]
        if detect_format(feed.name) is None:
            raise forms.ValidationError(gettext("Upload a .csv or a .jsonl file."))
        if feed.size > MAX_FEED_BYTES:
            raise forms.ValidationError(gettext("A feed holds at most 512 MiB; split it, or use manage.py ingest_catalog."))
        return feed


class TakedownForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label=_("Reason"),
                             help_text=_("Every licensee holding the work reads this when its download answers 410."))


class ClearSignalForm(forms.Form):
    note = forms.CharField(required=False, max_length=500, label=_("How the constraint was settled"))


class RightsholdersForm(forms.Form):
    rightsholders = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Rightsholders"),
        help_text=_("One a line: contributor:EXTERNAL-ID=60 or organisation:SLUG=40, adding to 100. "
                    "Empty: the work belongs wholly to its contributor."))

    def __init__(self, *args, work=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.work = work

    def clean_rightsholders(self):
        label = self.work.external_id or f"#{self.work.pk}"
        try:
            shares = parse_rightsholders(self.cleaned_data["rightsholders"], label)
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None
        parties = []
        for share in shares:
            if share.party == "contributor":
                party = Contributor.objects.filter(external_id=share.ref).first()
            else:
                party = Organisation.objects.filter(slug=share.ref).first()
            if party is None:
                if share.party == "contributor":
                    raise forms.ValidationError(gettext("No contributor is called %(ref)s.") % {"ref": share.ref})
                raise forms.ValidationError(gettext("No organisation is called %(ref)s.") % {"ref": share.ref})
            parties.append((party, share.share_bp))
        return parties


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=_("Search titles and tags"))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any")), *KINDS.items()])
    resolution = forms.ChoiceField(label=_("Resolution"), required=False,
                                   choices=[("", _("Any")), *((k, v[0]) for k, v in RESOLUTIONS.items())])
    duration = forms.ChoiceField(label=_("Duration"), required=False,
                                 choices=[("", _("Any")), *((k, v[0]) for k, v in DURATIONS.items())])
    tags = forms.CharField(label=_("Tags"), required=False)
    after = forms.IntegerField(label=_("After"), required=False, min_value=1)
    before = forms.IntegerField(label=_("Before"), required=False, min_value=1)

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
