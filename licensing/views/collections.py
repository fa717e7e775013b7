"""Collection pages for licensor staff, the exclusivity table, and an organisation's rightsholder royalties."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing.forms.collections import AddWorksForm, CollectionForm
from licensing.selectors.collections import (
    collection_detail,
    collections_list,
    exclusivity_table,
    organisation_royalties,
    works_of,
)
from licensing.services.collections import (
    CollectionRefused,
    collection_add_works,
    collection_create,
)
from licensing.views.access import membership_or_404, staff_only

STAFF = (REVIEWER, LICENSOR_ADMIN)


@staff_only(*STAFF)
def collections(request):
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = collection_create(by=request.user, **form.service_kwargs())
        except CollectionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Collection “%(name)s” created.") % {"name": collection.name})
            return redirect("catalogue_collection", pk=collection.pk)
    return render(request, "catalogue/collections.html", {"form": form, "collections": collections_list()},
                  status=400 if request.method == "POST" else 200)


@staff_only(*STAFF)
def collection(request, pk, form=None, status=200):
    found = collection_detail(pk=pk)
    return render(request, "catalogue/collection.html", {
        "collection": found, "works": works_of(collection=found)[:500], "form": form or AddWorksForm(),
        "offers": found.offers.select_related("organisation"),
    }, status=status)


@staff_only(*STAFF)
@require_POST
def collection_add(request, pk):
    found = collection_detail(pk=pk)
    form = AddWorksForm(request.POST)
    if not form.is_valid():
        return collection(request, pk, form=form, status=400)
    try:
        moved = collection_add_works(collection=found, by=request.user, work_external_ids=form.external_ids())
    except CollectionRefused as refusal:
        form.add_error("works", str(refusal))
        return collection(request, pk, form=form, status=400)
    messages.success(request, ngettext("%(count)s work added.", "%(count)s works added.", moved) % {"count": moved})
    return redirect("catalogue_collection", pk=pk)


@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def exclusivity(request):
    return render(request, "catalogue/exclusivity.html", exclusivity_table())


@login_required
def rightsholder_royalties(request):
    """What the user's organisation was credited as a rightsholder of works (a studio's share)."""
    membership = membership_or_404(request.user)
    if membership.role != Membership.Role.OWNER:
        return render(request, "catalogue/rightsholder_royalties.html", {"allowed": False}, status=403)
    organisation = membership.organisation
    entries = organisation_royalties(organisation=organisation)
    totals = {}
    for entry in entries:
        totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount
    return render(request, "catalogue/rightsholder_royalties.html", {
        "allowed": True, "organisation": organisation, "entries": entries[:500], "totals": sorted(totals.items()),
        "payouts": organisation.royalty_payouts.select_related("period").order_by("-period__month"),
    })
