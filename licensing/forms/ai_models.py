"""The licensee's forms for AI models: register a model, add a version, declare what trained it, release
it, and answer the provider's fields of the EU AI Act summary."""
import json

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing import eu_summary
from licensing.models import AIModel, ModelVersion

MAX_LIST_BYTES = 20 * 1024 * 1024


class AIModelForm(forms.ModelForm):
    model_card_url = forms.URLField(required=False, assume_scheme="https", label=_("Model card"),
                                    help_text=_("Where the model card is published, if it is."))

    class Meta:
        model = AIModel
        fields = ["name", "slug", "modality", "purpose", "is_public", "model_card_url"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"slug": _("Its address on the public model page. Empty: made from the name.")}
        labels = {"name": _("Name"), "slug": _("Slug"), "modality": _("Modality"), "purpose": _("Purpose")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def validate_unique(self):
        pass  # the service checks the slug against the organisation's models, which this form does not know

    def service_kwargs(self):
        return dict(self.cleaned_data)


class ModelVersionForm(forms.ModelForm):
    class Meta:
        model = ModelVersion
        fields = ["label", "trained_from", "trained_to", "note"]
        widgets = {"trained_from": forms.DateInput(attrs={"type": "date"}),
                   "trained_to": forms.DateInput(attrs={"type": "date"}),
                   "note": forms.Textarea(attrs={"rows": 2})}
        labels = {"label": _("Label"), "trained_from": _("Trained from"), "trained_to": _("Trained to"),
                  "note": _("Note")}

    def validate_unique(self):
        pass  # the service checks the label against the model's versions

    def service_kwargs(self):
        return dict(self.cleaned_data)


def parse_asset_ids(text):
    """Asset ids from an uploaded list: one per line, or a JSON list; the refusal names the lines it cannot read."""
    text = text.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError:
            raise forms.ValidationError(gettext("The file starts like a JSON list but is not valid JSON.")) from None
        lines = [(n, value) for n, value in enumerate(values, start=1)]
    else:
        lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    ids, bad = [], []
    for number, value in lines:
        try:
            if isinstance(value, bool):
                raise ValueError
            ids.append(int(value))
        except (TypeError, ValueError):
            bad.append(number)
    if bad:
        shown = ", ".join(str(n) for n in bad[:20])
        if len(bad) > 20:
            shown = gettext("%(lines)s and %(count)s more") % {"lines": shown, "count": len(bad) - 20}
        raise forms.ValidationError(gettext("Each line must be one asset id (a whole number); these lines are not: "
                                            "%(lines)s.") % {"lines": shown})
    if not ids:
        raise forms.ValidationError(gettext("The file lists no asset ids."))
    return ids


class DeclarationForm(forms.Form):
    slice = forms.ChoiceField(label=_("Slice"))
    asset_file = forms.FileField(
        required=False, label=_("Only these items (optional)"),
        help_text=_("A text file with one asset id per line, or a JSON list, when the version was trained on part "
                    "of the slice. Empty: the whole slice."))
    supersedes = forms.ChoiceField(required=False, label=_("Correcting an earlier declaration?"),
                                   help_text=_("The earlier declaration stays on the record but no longer counts."))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args, slices=(), declarations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slice"].choices = [
            (s.pk, f"Slice {s.number} of licence {s.licence_id} “{s.licence.project_title}” "
                   f"({s.phase}, {s.asset_count:,} items)") for s in slices]
        self.fields["supersedes"].choices = [("", "No: a new declaration")] + [
            (d.pk, f"Declaration {d.pk}: slice {d.slice.number} of licence {d.slice.licence_id}") for d in declarations]

    def clean_asset_file(self):
        upload = self.cleaned_data.get("asset_file")
        if not upload:
            return None
        if upload.size > MAX_LIST_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 20 MB."))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(gettext("The file must be UTF-8 text.")) from None
        return parse_asset_ids(text)

    def service_kwargs(self):
        data = self.cleaned_data
        return {"slice_id": int(data["slice"]), "asset_ids": data["asset_file"],
                "supersedes_id": int(data["supersedes"]) if data.get("supersedes") else None, "note": data["note"]}


class ReleaseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The declarations above are complete: release this version."),
        error_messages={"required": _("Tick the box to release: a released version's declarations cannot be removed.")})


YES_NO = [("", _("Not answered")), ("yes", _("Yes")), ("no", _("No"))]


class EuSummaryForm(forms.Form):
    """One field per provider field of the template, as fields.json describes it."""

    def __init__(self, *args, answers=None, suggestions=None, **kwargs):
        super().__init__(*args, **kwargs)
        answers, suggestions = answers or {}, suggestions or {}
        for field_id in eu_summary.PROVIDER_FIELDS:
            spec = eu_summary.FIELDS_BY_ID[field_id]
            self.fields[field_id] = self._field(spec)
            value = answers.get(field_id, suggestions.get(field_id))
            if field_id not in answers and field_id in suggestions:
                field = self.fields[field_id]
                field.help_text = " ".join(part for part in (
                    field.help_text, "Suggested from the licensor's records of what it delivered (only its share of "
                                     "your training data): it is your answer once you save it.") if part)
            if spec["answer"] == "boolean" and value is not None:
                value = "yes" if value else "no"
            elif spec["answer"] == "list" and not spec.get("choices") and isinstance(value, list):
                value = "\n".join(value)
            self.fields[field_id].initial = value

    @staticmethod
    def _field(spec):
        label = f"{spec['id']} {spec['label']}"
        help_text = spec.get("note", "")
        kind, choices = spec["answer"], spec.get("choices")
        if kind == "boolean":
            return forms.ChoiceField(choices=YES_NO, required=False, label=label, help_text=help_text)
        if kind == "range":
            return forms.ChoiceField(choices=[("", _("Not answered"))] + [(c, c) for c in choices], required=False,
                                     label=label, help_text=help_text)
        if kind == "list" and choices:
            return forms.MultipleChoiceField(choices=[(c, c) for c in choices], required=False, label=label,
                                             widget=forms.CheckboxSelectMultiple, help_text=help_text)
        if kind == "list":
            return forms.CharField(required=False, label=label, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text=(help_text + " " if help_text else "") + "One per line.")
        return forms.CharField(required=False, label=label, widget=forms.Textarea(attrs={"rows": 2}),
                               help_text=help_text)

    def answers(self):
        return {field_id: self.cleaned_data.get(field_id) for field_id in eu_summary.PROVIDER_FIELDS}
