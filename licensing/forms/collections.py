"""Collection forms: they parse and show; services/collections.py judges."""
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from licensing.models import Contributor


def _external_ids(text):
    return [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]


class CollectionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    owner_organisation = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"), required=False,
                                                label=_("Owner: an organisation (a studio)"))
    owner_contributor = forms.CharField(required=False, max_length=100, label=_("…or a contributor's external id"))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    works = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            label=_("Works (external ids, one a line)"))

    def clean_owner_contributor(self):
        ref = self.cleaned_data["owner_contributor"].strip()
        if not ref:
            return None
        contributor = Contributor.objects.filter(external_id=ref).first()
        if contributor is None:
            raise forms.ValidationError(gettext("No contributor has the external id %(ref)s.") % {"ref": ref})
        return contributor

    def clean(self):
        data = super().clean()
        if bool(data.get("owner_organisation")) == bool(data.get("owner_contributor")):
            raise forms.ValidationError(gettext("Choose one owner: an organisation or a contributor."))
        return data

    def service_kwargs(self):
        data = self.cleaned_data
        return {"name": data["name"], "owner_organisation": data["owner_organisation"],
                "owner_contributor": data["owner_contributor"], "description": data["description"],
                "work_external_ids": _external_ids(data["works"])}


class AddWorksForm(forms.Form):
    works = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label=_("Works (external ids, one a line)"))

    def external_ids(self):
        return _external_ids(self.cleaned_data["works"])
