"""The contributor portal, and the staff contributors overview.

Portal pages take no contributor id: they show the contributor the logged-in user is,
so no URL can reach another contributor's works, earnings or statements.
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing.forms.contributors import (
    OptInConfirmForm,
    OptOutConfirmForm,
    WorksFilterForm,
)
from licensing.months import current_month, parse_month
from licensing.selectors.ai_models import models_trained_on
from licensing.selectors.contributors import (
    contributor_of,
    contributor_works,
    earnings_per_work,
    opt_out_effect,
    staff_overview,
    work_counts,
    works_used,
)
from licensing.selectors.previews import tile
from licensing.selectors.royalties import (
    contributor_statement,
    earnings_by_month,
    earnings_totals,
    statement_csv_rows,
    statement_months,
)
from licensing.services.contributors import contributor_set_opt_out
from licensing.spreadsheets import csv_response
from licensing.views.access import staff_only


def _month_or_404(value, *, now=None):
    try:
        month = parse_month(value)
    except ValueError:
        raise Http404("Give the month as YYYY-MM.") from None
    if month > current_month(now):
        raise Http404("That month has not begun.")
    return month


# --- The contributor portal ----------------------------------------------------

@login_required
def portal(request):
    contributor = contributor_of(user=request.user)
    used = works_used(contributor=contributor)
    return render(request, "contributor/portal.html", {
        "contributor": contributor,
        "counts": work_counts(contributor=contributor),
        "totals": earnings_totals(contributor=contributor),
        "licence_count": len({row["licence"].pk for row in used}),
        "granted_count": sum(row["assets"] for row in used),
        "royalty_percent": int(settings.ROYALTY_SHARE * 100),
    })


@login_required
def works(request):
    contributor = contributor_of(user=request.user)
    form = WorksFilterForm(request.GET or None)
    kind = title = None
    if form.is_valid():
        kind, title = form.cleaned_data["kind"] or None, form.cleaned_data["title"] or None
    page = Paginator(contributor_works(contributor=contributor, kind=kind, title=title), 50).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    earnings = earnings_per_work(contributor=contributor, work_ids=[work.pk for work in page])
    tiles = [dict(tile(work, opted_out=contributor.opted_out), licences=work.licences,
                  earned=sorted(earnings.get(work.pk, {}).items())) for work in page]
    return render(request, "contributor/works.html", {
        "contributor": contributor, "form": form, "page": page, "query": query.urlencode(), "tiles": tiles,
        "video_weight": settings.ROYALTY_KIND_WEIGHTS["video"] // max(settings.ROYALTY_KIND_WEIGHTS["image"], 1),
        "counts": work_counts(contributor=contributor),
    })


@login_required
def earnings(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/earnings.html", {
        "contributor": contributor,
        "months": earnings_by_month(contributor=contributor),
        "totals": earnings_totals(contributor=contributor),
        "statement_months": statement_months(contributor=contributor),
        "royalty_percent": int(settings.ROYALTY_SHARE * 100),
    })


@login_required
def statement(request, month):
    contributor = contributor_of(user=request.user)
    month = _month_or_404(month)
    return render(request, "contributor/statement.html", {
        "contributor": contributor,
        "statement": contributor_statement(contributor=contributor, month=month),
    })


@login_required
def statement_csv(request, month):
    contributor = contributor_of(user=request.user)
    month = _month_or_404(month)
    report = contributor_statement(contributor=contributor, month=month)
    response = csv_response(statement_csv_rows(report), f"tessera-royalties-{month:%Y-%m}.csv")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def where_used(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/where_used.html", {
        "contributor": contributor, "used": works_used(contributor=contributor),
    })


@login_required
def models_trained(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/models.html", {
        "contributor": contributor, "models": models_trained_on(contributor=contributor),
    })


@login_required
def ai_training(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/ai_training.html", {
        "contributor": contributor,
        "grants": opt_out_effect(contributor=contributor),
        "history": contributor.consent_changes.select_related("changed_by")[:100],
    })


CHOICES = {
    "opt-out": {"opted_out": True, "form": OptOutConfirmForm,
                "done": gettext_lazy("You have opted out of AI training. New slices leave your works out, and your "
                                     "works in research slices are withdrawn.")},
    "opt-in": {"opted_out": False, "form": OptInConfirmForm,
               "done": gettext_lazy("You have opted back in: new slices may include your works again.")},
}


@login_required
def ai_training_change(request, choice):
    """A confirmation page, then the change. Every change is appended to the contributor's history."""
    contributor = contributor_of(user=request.user)
    if choice not in CHOICES:
        raise Http404
    wanted = CHOICES[choice]
    if contributor.opted_out == wanted["opted_out"]:
        messages.info(request, _("That is already your choice: nothing was changed."))
        return redirect("contributor_ai_training")
    form = wanted["form"](request.POST or None)
    if request.method == "POST" and form.is_valid():
        contributor_set_opt_out(contributor=contributor, opted_out=wanted["opted_out"], by=request.user,
                                note=form.cleaned_data["note"])
        messages.success(request, wanted["done"])
        return redirect("contributor_ai_training")
    return render(request, "contributor/ai_training_confirm.html", {
        "contributor": contributor, "choice": choice, "form": form, "grants": opt_out_effect(contributor=contributor),
    }, status=400 if request.method == "POST" else 200)


# --- Finance: closing months and paying contributors -----------------------------


# --- Licensor staff: contributors at a glance --------------------------------------

@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def staff_contributors(request):
    return render(request, "staff/contributors.html", staff_overview())
