"""The licensor's queues. Staff act on the licence page; these pages find the licences."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing.forms.review import QueueFilterForm
from licensing.models import LicenceState
from licensing.selectors.licences import review_queue
from licensing.views.access import staff_only

S = LicenceState


QUEUES = {
    "applications": {
        "title": _("Applications"),
        "states": [S.SUBMITTED, S.CHANGES_REQUESTED, S.DRAFT],
        "default": [S.SUBMITTED],
    },
    "upgrades": {
        "title": _("Commercial upgrades"),
        "states": [S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED, S.AWAITING_PAYMENT],
        "default": [S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED, S.AWAITING_PAYMENT],
    },
    "all": {"title": _("All licences"), "states": list(S), "default": list(S)},
}


def _queue(request, name):
    queue = QUEUES[name]
    choices = [(s.value, s.label) for s in queue["states"]]
    form = QueueFilterForm(request.GET or None, states=choices)
    states = queue["default"]
    organisation = older_than = None
    if form.is_valid():
        states = [form.cleaned_data["state"]] if form.cleaned_data["state"] else states
        organisation = form.cleaned_data["organisation"]
        older_than = form.cleaned_data["older_than_days"]
    page = Paginator(review_queue(states=states, organisation=organisation, older_than_days=older_than), 50).get_page(
        request.GET.get("page")
    )
    context = {"queue": queue, "queue_name": name, "form": form, "page": page, "queues": QUEUES}
    template = "review/_queue_table.html" if request.headers.get("HX-Request") else "review/queue.html"
    return render(request, template, context)


@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def applications(request):
    return _queue(request, "applications")


@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def upgrades(request):
    return _queue(request, "upgrades")


@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def all_licences(request):
    return _queue(request, "all")
