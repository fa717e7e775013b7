"""Catalogue pages for licensor staff: feeds and their reports, works, takedowns, training signals."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import LICENSOR_ADMIN, REVIEWER
from licensing.forms.catalogue import (
    ClearSignalForm,
    FeedUploadForm,
    RightsholdersForm,
    TakedownForm,
)
from licensing.selectors.catalogue import (
    catalogue_works,
    ingest_run_detail,
    ingest_runs,
    rejection_rows,
    work_detail,
)
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
            messages.success(request, f"{run.file_name} is being brought in: this page follows its progress.")
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
def work(request, pk, takedown_form=None, clear_form=None, rights_form=None, status=200):
    asset = work_detail(pk=pk)
    rightsholders = asset.rightsholders.select_related("contributor", "organisation")
    current = "\n".join(f"{'contributor' if r.contributor_id else 'organisation'}:"
                         f"{r.contributor.external_id if r.contributor_id else r.organisation.slug}="
                         f"{r.share_bp / 100:g}" for r in rightsholders)
    return render(request, "catalogue/work.html", {
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
        return work(request, pk, rights_form=form, status=400)
    try:
        rightsholders_set(asset=asset, by=request.user, shares=form.cleaned_data["rightsholders"])
    except CollectionRefused as refusal:
        form.add_error("rightsholders", str(refusal))
        return work(request, pk, rights_form=form, status=400)
    messages.success(request, "Rightsholders saved: the work's next royalties are split between them.")
    return redirect("catalogue_work", pk=pk)


@staff_only(LICENSOR_ADMIN)
@require_POST
def take_down(request, pk):
    asset = work_detail(pk=pk)
    form = TakedownForm(request.POST)
    if not form.is_valid():
        return work(request, pk, takedown_form=form, status=400)
    try:
        withdrawn = catalogue_take_down(asset=asset, by=request.user, reason=form.cleaned_data["reason"])
    except IngestRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Taken down: withdrawn from {withdrawn} slice item{'s' if withdrawn != 1 else ''}.")
    return redirect("catalogue_work", pk=pk)


@staff_only(LICENSOR_ADMIN)
@require_POST
def clear_signal(request, pk):
    asset = work_detail(pk=pk)
    form = ClearSignalForm(request.POST)
    if not form.is_valid():
        return work(request, pk, clear_form=form, status=400)
    try:
        catalogue_clear_training_signal(asset=asset, by=request.user, note=form.cleaned_data["note"])
    except IngestRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Cleared: new slices may include the work.")
    return redirect("catalogue_work", pk=pk)


