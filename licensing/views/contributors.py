"""The contributor portal, finance's royalty months and payouts, and the staff contributors overview.

Portal pages take no contributor id: they show the contributor the logged-in user is,
so no URL can reach another contributor's works, earnings or statements.
"""
import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing.forms_contributors import (
    OptInConfirmForm,
    OptOutConfirmForm,
    PayoutsPaidForm,
    PeriodCloseForm,
    WorksFilterForm,
)
from licensing.models import (
    Contributor,
    ContributorConsentChange,
    LicencePhase,
    RoyaltyEntry,
    RoyaltyPayout,
    RoyaltyPeriod,
    SliceItem,
)
from licensing.selectors_contributors import (
    contributor_of,
    contributor_works,
    earnings_by_month,
    earnings_totals,
    opt_out_rate_by_month,
    royalties_by_month,
    work_counts,
    works_used,
)
from licensing.services import statements
from licensing.services.contributors import contributor_set_opt_out
from licensing.views.review import staff_only


class _Echo:
    def write(self, value):
        return value


def _csv_response(rows, filename):
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _month_or_404(value, *, now=None):
    try:
        month = statements.parse_month(value)
    except ValueError:
        raise Http404("Give the month as YYYY-MM.") from None
    if month > statements.current_month(now):
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
    return render(request, "contributor/works.html", {
        "contributor": contributor, "form": form, "page": page, "query": query.urlencode(),
        "counts": work_counts(contributor=contributor),
    })


@login_required
def earnings(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/earnings.html", {
        "contributor": contributor,
        "months": earnings_by_month(contributor=contributor),
        "totals": earnings_totals(contributor=contributor),
        "statement_months": statements.statement_months(contributor=contributor),
        "royalty_percent": int(settings.ROYALTY_SHARE * 100),
    })


@login_required
def statement(request, month):
    contributor = contributor_of(user=request.user)
    month = _month_or_404(month)
    return render(request, "contributor/statement.html", {
        "contributor": contributor,
        "statement": statements.contributor_statement(contributor=contributor, month=month),
    })


@login_required
def statement_csv(request, month):
    contributor = contributor_of(user=request.user)
    month = _month_or_404(month)
    report = statements.contributor_statement(contributor=contributor, month=month)
    return _csv_response(statements.statement_csv_rows(report), f"tessera-royalties-{month:%Y-%m}.csv")


@login_required
def where_used(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/where_used.html", {
        "contributor": contributor, "used": works_used(contributor=contributor),
    })


def _grant_counts(contributor):
    """What an opt-out would change now: research grants withdrawn, commercial grants kept."""
    live = SliceItem.objects.filter(asset__contributor_id=contributor.pk, withdrawn_at__isnull=True)
    return live.aggregate(
        research_items=Count("id", filter=Q(slice__phase=LicencePhase.RESEARCH)),
        research_licences=Count("licence_id", distinct=True, filter=Q(slice__phase=LicencePhase.RESEARCH)),
        commercial_items=Count("id", filter=Q(slice__phase=LicencePhase.COMMERCIAL)),
        commercial_licences=Count("licence_id", distinct=True, filter=Q(slice__phase=LicencePhase.COMMERCIAL)),
    )


@login_required
def ai_training(request):
    contributor = contributor_of(user=request.user)
    return render(request, "contributor/ai_training.html", {
        "contributor": contributor,
        "grants": _grant_counts(contributor),
        "history": contributor.consent_changes.select_related("changed_by")[:100],
    })


CHOICES = {
    "opt-out": {"opted_out": True, "form": OptOutConfirmForm,
                "done": "You have opted out of AI training. New slices leave your works out, and your works in "
                        "research slices are withdrawn."},
    "opt-in": {"opted_out": False, "form": OptInConfirmForm,
               "done": "You have opted back in: new slices may include your works again."},
}


@login_required
def ai_training_change(request, choice):
    """A confirmation page, then the change. Every change is appended to the contributor's history."""
    contributor = contributor_of(user=request.user)
    if choice not in CHOICES:
        raise Http404
    wanted = CHOICES[choice]
    if contributor.opted_out == wanted["opted_out"]:
        messages.info(request, "That is already your choice: nothing was changed.")
        return redirect("contributor_ai_training")
    form = wanted["form"](request.POST or None)
    if request.method == "POST" and form.is_valid():
        contributor_set_opt_out(contributor=contributor, opted_out=wanted["opted_out"], by=request.user,
                                note=form.cleaned_data["note"])
        messages.success(request, wanted["done"])
        return redirect("contributor_ai_training")
    return render(request, "contributor/ai_training_confirm.html", {
        "contributor": contributor, "choice": choice, "form": form, "grants": _grant_counts(contributor),
    }, status=400 if request.method == "POST" else 200)


# --- Finance: closing months and paying contributors -----------------------------

def _closable_months(now=None):
    """Months that have ended and come after the last closed month, newest first."""
    current = statements.current_month(now)
    last = RoyaltyPeriod.objects.order_by("-month").values_list("month", flat=True).first()
    if last is not None:
        month = _add_month(last)
    else:
        first_entry = RoyaltyEntry.objects.order_by("created_at").values_list("created_at", flat=True).first()
        month = timezone.localtime(first_entry).date().replace(day=1) if first_entry else _add_month(current, -1)
    months = []
    while month < current:
        months.append(month)
        month = _add_month(month)
    return months[::-1]


def _add_month(month, step=1):
    index = month.year * 12 + month.month - 1 + step
    return month.replace(year=index // 12, month=index % 12 + 1, day=1)


@staff_only(FINANCE)
def royalty_months(request, close_form=None, status=200):
    periods = {
        p.month: p for p in RoyaltyPeriod.objects.select_related("closed_by").annotate(
            payout_count=Count("payouts"), paid_count=Count("payouts", filter=Q(payouts__paid_at__isnull=False)),
        )
    }
    rows = []
    for row in royalties_by_month():
        month = row["month"].date()
        rows.append({**row, "month_date": month, "period": periods.get(month)})
    return render(request, "contributor/finance_months.html", {
        "rows": rows,
        "periods": sorted(periods.values(), key=lambda p: p.month, reverse=True),
        "close_form": close_form or PeriodCloseForm(months=_closable_months()),
    }, status=status)


@staff_only(FINANCE)
@require_POST
def royalty_period_close(request):
    form = PeriodCloseForm(request.POST, months=_closable_months())
    if not form.is_valid():
        return royalty_months(request, close_form=form, status=400)
    month = statements.parse_month(form.cleaned_data["month"])
    try:
        period, created = statements.royalty_period_close(month=month, by=request.user)
    except statements.StatementRefused as refusal:
        form.add_error("month", str(refusal))
        return royalty_months(request, close_form=form, status=400)
    if created:
        messages.success(request, f"{period} is closed: {period.payouts.count()} payouts are ready to export.")
    else:
        messages.info(request, f"{period} was already closed: nothing was changed.")
    return redirect("finance_royalty_period", month=f"{period.month:%Y-%m}")


def _period_or_404(month):
    try:
        month = statements.parse_month(month)
    except ValueError:
        raise Http404("Give the month as YYYY-MM.") from None
    period = RoyaltyPeriod.objects.select_related("closed_by").filter(month=month).first()
    if period is None:
        raise Http404("That month is not closed.")
    return period


@staff_only(FINANCE)
def royalty_period_detail(request, month, paid_form=None, status=200):
    period = _period_or_404(month)
    payouts = period.payouts.select_related("contributor").order_by("currency", "contributor_id")
    page = Paginator(payouts, 100).get_page(request.GET.get("page"))
    return render(request, "contributor/finance_period.html", {
        "period": period, "page": page, "summary": statements.period_summary(period=period),
        "paid_form": paid_form or PayoutsPaidForm(),
    }, status=status)


@staff_only(FINANCE)
def royalty_payouts_csv(request, month):
    period = _period_or_404(month)
    return _csv_response(statements.payout_csv_rows(period=period), f"tessera-payouts-{period.month:%Y-%m}.csv")


@staff_only(FINANCE)
@require_POST
def royalty_payouts_paid(request, month):
    period = _period_or_404(month)
    form = PayoutsPaidForm(request.POST)
    if not form.is_valid():
        return royalty_period_detail(request, month, paid_form=form, status=400)
    try:
        marked = statements.royalty_payouts_mark_paid(period=period, by=request.user, references=form.reference_list())
    except statements.StatementRefused as refusal:
        form.add_error("references", str(refusal))
        return royalty_period_detail(request, month, paid_form=form, status=400)
    messages.success(request, f"{marked} payout{'s' if marked != 1 else ''} of {period} marked as made.")
    return redirect("finance_royalty_period", month=f"{period.month:%Y-%m}")


# --- Licensor staff: contributors at a glance --------------------------------------

@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def staff_contributors(request):
    rate = opt_out_rate_by_month(months=12)
    royalties = royalties_by_month()
    currencies = sorted({row["currency"] for row in royalties})
    months = [row["month"] for row in rate]
    by_key = {(row["month"], row["currency"]): row for row in royalties}
    chart = {
        "months": [f"{m:%b %Y}" for m in months],
        "rate": [float(row["rate"]) for row in rate],
        "opt_outs": [row["opt_outs"] for row in rate],
        "opt_ins": [row["opt_ins"] for row in rate],
        "royalties": [
            {"currency": currency,
             "net": [float(by_key.get((m, currency), {}).get("net", 0)) for m in months],
             "paid": [float(by_key.get((m, currency), {}).get("paid", 0)) for m in months]}
            for currency in currencies
        ],
    }
    contributors = Contributor.objects.aggregate(
        total=Count("id"), opted_out=Count("id", filter=Q(opted_out=True)),
        public=Count("id", filter=Q(public_profile=True)), linked=Count("id", filter=Q(user__isnull=False)),
    )
    owed = (
        RoyaltyEntry.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    )
    paid = dict(
        RoyaltyPayout.objects.filter(paid_at__isnull=False).values("currency").annotate(total=Sum("amount"))
        .order_by().values_list("currency", "total")
    )
    return render(request, "staff/contributors.html", {
        "contributors": contributors,
        "rate_now": round(100 * contributors["opted_out"] / contributors["total"], 2) if contributors["total"] else 0,
        "rate": rate[::-1],
        "royalties": royalties[:36],
        "balances": [{"currency": row["currency"], "credited": row["total"], "paid": paid.get(row["currency"], 0)}
                     for row in owed],
        "chart": chart,
        "recent_changes": ContributorConsentChange.objects.select_related("contributor")[:20],
    })
