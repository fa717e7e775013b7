"""Catalogue pages for licensor staff: feeds and their reports, works, takedowns, training signals.

The catalogue browser: a grid of works with facets, and each work's page.
"""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.roles import LICENSOR_ADMIN, REVIEWER
from licensing.forms.catalogue import (
    CatalogueFilterForm,
    ClearSignalForm,
    FeedUploadForm,
    RightsholdersForm,
    TakedownForm,
)
from licensing.selectors.catalogue import (
    availability,
    catalogue_page,
    catalogue_viewer,
    catalogue_works,
    facets,
    grants_of,
    ingest_run_detail,
    ingest_runs,
    rejection_rows,
    work_detail,
    work_visible_to,
)
from licensing.selectors.previews import tile
from licensing.services.catalogue import (
    IngestRefused,
    catalogue_clear_training_signal,
    catalogue_take_down,
    ingest_run_create,
)
from licensing.services.collections import CollectionRefused, rightsholders_set
from licensing.spreadsheets import csv_response
from licensing.views.access import staff_only

STAFF = (REVIEWER, LICENSOR_ADMIN)


@staff_only(*STAFF)
def ingest(request):
    form = FeedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = ingest_run_create(upload=form.cleaned_data["feed"], by=request.user)
        except IngestRefused as refusal:
            form.add_error("feed", str(refusal))
        else:
            messages.success(request, _("%(file_name)s is being brought in: this page follows its progress.")
                                      % {"file_name": run.file_name})
            return redirect("catalogue_ingest_run", pk=run.pk)
    return render(request, "catalogue/ingest.html", {"form": form, "runs": ingest_runs()[:50]},
                  status=400 if request.method == "POST" else 200)


@staff_only(*STAFF)
def ingest_run(request, pk):
    run = ingest_run_detail(pk=pk)
    template = "catalogue/_run_status.html" if request.headers.get("HX-Request") else "catalogue/run.html"
    return render(request, template, {"run": run, "rejections": run.rejections.all()[:1000]})


@staff_only(*STAFF)
def ingest_rejections_csv(request, pk):
    run = ingest_run_detail(pk=pk)
    return csv_response(rejection_rows(run=run), f"tessera-ingest-{run.pk}-rejected.csv")


@staff_only(*STAFF)
def works(request):
    query = request.GET.get("q", "").strip()[:200]
    reserved = request.GET.get("signals") == "1"
    return render(request, "catalogue/works.html", {
        "works": catalogue_works(query=query, reserved=reserved)[:200], "query": query, "reserved": reserved})


@staff_only(*STAFF)
def work_rights(request, pk, takedown_form=None, clear_form=None, rights_form=None, status=200):
    asset = work_detail(pk=pk)
    rightsholders = asset.rightsholders.select_related("contributor", "organisation")
    current = "\n".join(f"{'contributor' if r.contributor_id else 'organisation'}:"
                         f"{r.contributor.external_id if r.contributor_id else r.organisation.slug}="
                         f"{r.share_bp / 100:g}" for r in rightsholders)
    return render(request, "catalogue/work_rights.html", {
        "work": asset, "rightsholders": rightsholders,
        "takedown_form": takedown_form or TakedownForm(), "clear_form": clear_form or ClearSignalForm(),
        "rights_form": rights_form or RightsholdersForm(work=asset, initial={"rightsholders": current}),
    }, status=status)


@staff_only(LICENSOR_ADMIN)
@require_POST
def set_rightsholders(request, pk):
    asset = work_detail(pk=pk)
    form = RightsholdersForm(request.POST, work=asset)
    if not form.is_valid():
        return work_rights(request, pk, rights_form=form, status=400)
    try:
        rightsholders_set(asset=asset, by=request.user, shares=form.cleaned_data["rightsholders"])
    except CollectionRefused as refusal:
        form.add_error("rightsholders", str(refusal))
        return work_rights(request, pk, rights_form=form, status=400)
    messages.success(request, _("Rightsholders saved: the work's next royalties are split between them."))
    return redirect("catalogue_work_rights", pk=pk)


@staff_only(LICENSOR_ADMIN)
@require_POST
def take_down(request, pk):
    asset = work_detail(pk=pk)
    form = TakedownForm(request.POST)
    if not form.is_valid():
        return work_rights(request, pk, takedown_form=form, status=400)
    try:
        withdrawn = catalogue_take_down(asset=asset, by=request.user, reason=form.cleaned_data["reason"])
    except IngestRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, ngettext("Taken down: withdrawn from %(count)s slice item.",
                                           "Taken down: withdrawn from %(count)s slice items.", withdrawn)
                                  % {"count": withdrawn})
    return redirect("catalogue_work_rights", pk=pk)


@staff_only(LICENSOR_ADMIN)
@require_POST
def clear_signal(request, pk):
    asset = work_detail(pk=pk)
    form = ClearSignalForm(request.POST)
    if not form.is_valid():
        return work_rights(request, pk, clear_form=form, status=400)
    try:
        catalogue_clear_training_signal(asset=asset, by=request.user, note=form.cleaned_data["note"])
    except IngestRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Cleared: new slices may include the work."))
    return redirect("catalogue_work_rights", pk=pk)


def _query(filters, **cursor):
    pairs = [(key, value) for key, value in filters.items() if key != "tags"]
    pairs += [("tags", tag) for tag in filters.get("tags", [])]
    pairs += [(key, value) for key, value in cursor.items() if value]
    return "?" + urlencode(pairs) if pairs else "?"


def _toggled(filters, facet, value, multiple):
    changed = {key: (list(v) if isinstance(v, list) else v) for key, v in filters.items()}
    if multiple:
        tags = set(changed.get(facet, []))
        tags ^= {value}
        changed[facet] = sorted(tags)
        if not changed[facet]:
            changed.pop(facet)
    elif changed.get(facet) == value:
        changed.pop(facet)
    else:
        changed[facet] = value
        if facet == "kind" and value == "image":
            changed.pop("duration", None)
    return changed


def _viewer_or_refusal(request):
    try:
        return catalogue_viewer(user=request.user), None
    except PermissionDenied as refusal:
        return None, render(request, "catalogue/closed.html", {"reason": str(refusal)}, status=403)


@login_required
def catalogue(request):
    viewer, refusal = _viewer_or_refusal(request)
    if refusal:
        return refusal
    form = CatalogueFilterForm(request.GET)
    filters, cursor = form.filters(), form.cursor()
    page = catalogue_page(filters, **cursor)
    grants = grants_of(licences=viewer["licences"], asset_ids=[w.pk for w in page["works"]])
    groups = facets(filters)
    for group in groups:
        for option in group["options"]:
            option["href"] = _query(_toggled(filters, group["name"], option["value"], group["multiple"]))
    return render(request, "catalogue/index.html", {
        "viewer": viewer, "form": form, "filters": filters, "facets": groups, "page": page,
        "tiles": [tile(work, grants.get(work.pk)) for work in page["works"]],
        "next_href": _query(filters, after=page["next_after"]) if page["next_after"] else None,
        "prev_href": _query(filters, before=page["prev_before"]) if page["prev_before"] else None,
        "first_href": _query(filters) if cursor["after"] or cursor["before"] else None,
        "clear_href": "?" if filters else None,
        "hidden_filters": [(k, v) for k, v in filters.items() if k not in ("q", "tags")]
        + [("tags", t) for t in filters.get("tags", [])],
    })


@login_required
def work_page(request, pk):
    viewer, refusal = _viewer_or_refusal(request)
    if refusal:
        return refusal
    work = work_visible_to(viewer=viewer, pk=pk)
    return render(request, "catalogue/work.html", {
        "viewer": viewer, "work": work, "tile": tile(work),
        "availability": availability(viewer=viewer, work=work),
        "contributor_named": work.contributor.public_profile or viewer["staff"],
    })
