"""Finance's royalty pages: months, closing them, and paying contributors."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.roles import FINANCE
from licensing.forms.royalties import PayoutsPaidForm, PeriodCloseForm
from licensing.months import parse_month
from licensing.selectors.royalties import (
    closable_months,
    closed_period,
    closed_periods,
    payout_csv_rows,
    period_payouts,
    period_summary,
    royalties_by_month,
)
from licensing.services.royalties import (
    StatementRefused,
    royalty_payouts_complete,
    royalty_payouts_mark_paid,
)
from licensing.services.royalties import royalty_period_close as close_period
from licensing.spreadsheets import csv_response
from licensing.views.access import staff_only


@staff_only(FINANCE)
def royalty_months(request, close_form=None, status=200):
    periods = closed_periods()
    by_month = {p.month: p for p in periods}
    rows = [{**row, "month_date": row["month"].date(), "period": by_month.get(row["month"].date())}
            for row in royalties_by_month()]
    return render(request, "contributor/finance_months.html", {
        "rows": rows,
        "periods": periods,
        "close_form": close_form or PeriodCloseForm(months=closable_months()),
    }, status=status)


@staff_only(FINANCE)
@require_POST
def royalty_period_close(request):
    form = PeriodCloseForm(request.POST, months=closable_months())
    if not form.is_valid():
        return royalty_months(request, close_form=form, status=400)
    try:
        period, created = close_period(month=parse_month(form.cleaned_data["month"]), by=request.user)
    except StatementRefused as refusal:
        form.add_error("month", str(refusal))
        return royalty_months(request, close_form=form, status=400)
    if created:
        messages.success(request, _("%(period)s is closed: %(count)s payouts are ready to export.")
                                  % {"period": period, "count": period.payouts.count()})
    else:
        messages.info(request, _("%(period)s was already closed: nothing was changed.") % {"period": period})
    return redirect("finance_royalty_period", month=f"{period.month:%Y-%m}")


@staff_only(FINANCE)
def royalty_period_detail(request, month, paid_form=None, status=200):
    period = closed_period(month=month)
    page = Paginator(period_payouts(period=period), 100).get_page(request.GET.get("page"))
    return render(request, "contributor/finance_period.html", {
        "period": period, "page": page, "summary": period_summary(period=period),
        "paid_form": paid_form or PayoutsPaidForm(),
    }, status=status)


@staff_only(FINANCE)
def royalty_payouts_csv(request, month):
    period = closed_period(month=month)
    # Payouts missing from the latest month are made before the file streams: a download only reads.
    royalty_payouts_complete(period=period)
    response = csv_response(payout_csv_rows(period=period), f"tessera-payouts-{period.month:%Y-%m}.csv")
    response["Cache-Control"] = "private, no-store"
    return response


@staff_only(FINANCE)
@require_POST
def royalty_payouts_paid(request, month):
    period = closed_period(month=month)
    form = PayoutsPaidForm(request.POST)
    if not form.is_valid():
        return royalty_period_detail(request, month, paid_form=form, status=400)
    try:
        marked = royalty_payouts_mark_paid(period=period, by=request.user, references=form.reference_list())
    except StatementRefused as refusal:
        form.add_error("references", str(refusal))
        return royalty_period_detail(request, month, paid_form=form, status=400)
    messages.success(request, ngettext("%(count)s payout of %(period)s marked as made.",
                                       "%(count)s payouts of %(period)s marked as made.", marked)
                              % {"count": marked, "period": period})
    return redirect("finance_royalty_period", month=f"{period.month:%Y-%m}")
