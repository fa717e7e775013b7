"""Usage report pages: the licensee's upload and status, the contributor's explanation, finance's totals."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import FINANCE
from licensing.forms.attribution import UsageReportForm
from licensing.selectors.ai_models import model_visible_to, version_of
from licensing.selectors.attribution import (
    own_cents,
    report_for_staff,
    report_of_version,
    report_totals,
    reports_for_staff,
    share_of_contributor,
    share_rows,
    top_shares,
)
from licensing.selectors.contributors import contributor_of
from licensing.services.attribution import UsageReportRefused, explain_output, usage_report_upload
from licensing.spreadsheets import csv_response
from licensing.views.access import staff_only


def _own_version(request, pk, version_pk):
    model = model_visible_to(user=request.user, pk=pk)
    membership = getattr(request.user, "membership", None)
    if membership is None or membership.organisation_id != model.organisation_id:
        raise PermissionDenied(_("Only the model's organisation sends its usage reports."))
    return model, version_of(model=model, pk=version_pk)


@login_required
@require_POST
def usage_report_create(request, pk, version_pk):
    model, version = _own_version(request, pk, version_pk)
    form = UsageReportForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        messages.error(request, _("The usage report was not sent. %(errors)s") % {"errors": errors})
        return redirect("model_version", pk=model.pk, version_pk=version.pk)
    try:
        report, created = usage_report_upload(version=version, by=request.user, **form.service_kwargs())
    except UsageReportRefused as refusal:
        messages.error(request, _("The usage report was not sent: %(refusal)s") % {"refusal": refusal})
        return redirect("model_version", pk=model.pk, version_pk=version.pk)
    if created:
        messages.success(request, _("Usage report %(reference)s received: it is being processed.")
                                  % {"reference": report.reference})
    else:
        messages.info(request, _("Usage report %(reference)s was sent before: nothing changed.")
                               % {"reference": report.reference})
    return redirect("usage_report", pk=model.pk, version_pk=version.pk, report_pk=report.pk)


@login_required
@require_GET
def usage_report_page(request, pk, version_pk, report_pk):
    model = model_visible_to(user=request.user, pk=pk)
    version = version_of(model=model, pk=version_pk)
    report = report_of_version(version=version, pk=report_pk)
    return render(request, "models/usage_report.html", {
        "model": model, "version": version, "report": report,
        "rejected": report.rejected_lines[:500],
    })


@login_required
@require_GET
def contributor_usage_report(request, report_pk):
    contributor = contributor_of(user=request.user)
    share = share_of_contributor(contributor=contributor, report_pk=report_pk)
    report = share.report
    explanation = explain_output(report=report, contributor=contributor, line=share.top_line)
    own = own_cents(share=share)
    return render(request, "contributor/usage_report.html", {
        "contributor": contributor, "share": share, "report": report, "explanation": explanation,
        "own_cents": own, "others_cents": share.cents - own,
    })


@staff_only(FINANCE)
def finance_usage_reports(request):
    return render(request, "billing/usage_reports.html", {"reports": reports_for_staff()[:200]})


@staff_only(FINANCE)
def finance_usage_report(request, report_pk):
    report = report_for_staff(pk=report_pk)
    return render(request, "billing/usage_report.html", {
        "report": report, "top": top_shares(report=report), "totals": report_totals(report=report),
    })


@staff_only(FINANCE)
def finance_usage_report_csv(request, report_pk):
    report = report_for_staff(pk=report_pk)
    return csv_response(share_rows(report=report), f"tessera-usage-report-{report.pk}.csv")
