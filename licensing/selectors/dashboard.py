"""The staff dashboard's figures, month by month over the last year."""
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.formats import date_format

from licensing.models import LicenceEvent, Payment, Slice, SliceStatus
from licensing.months import month_starts
from licensing.selectors.contributors import opt_out_rate_by_month
from licensing.selectors.royalties import royalties_by_month


def _by_month(rows, key="n"):
    return {timezone.localtime(row["month"]).date().replace(day=1) if hasattr(row["month"], "hour")
            else row["month"].replace(day=1): row[key] or 0 for row in rows}


def dashboard(*, months=12, now=None):
    starts = [timezone.localtime(s).date() for s in month_starts(count=months, now=now)]
    since = month_starts(count=months, now=now)[0]
    events = LicenceEvent.objects.filter(created_at__gte=since).annotate(month=TruncMonth("created_at"))
    applied = _by_month(events.filter(action="submit", from_state="draft").values("month")
                        .annotate(n=Count("licence_id", distinct=True)).order_by())
    approved = _by_month(events.filter(action="approve").values("month").annotate(n=Count("id")).order_by())
    rejected = _by_month(events.filter(action="reject").values("month").annotate(n=Count("id")).order_by())
    grants = _by_month(Slice.objects.filter(status=SliceStatus.READY, finished_at__gte=since)
                       .annotate(month=TruncMonth("finished_at")).values("month")
                       .annotate(n=Sum("asset_count"), slices=Count("id")).order_by())
    slices = _by_month(Slice.objects.filter(status=SliceStatus.READY, finished_at__gte=since)
                       .annotate(month=TruncMonth("finished_at")).values("month").annotate(n=Count("id")).order_by())
    payments = Payment.objects.filter(received_on__gte=starts[0]).annotate(month=TruncMonth("received_on")) \
        .values("month", "currency").annotate(n=Sum("amount")).order_by()
    currencies = sorted({row["currency"] for row in payments} | {row["currency"] for row in royalties_by_month()})
    currency = "EUR" if "EUR" in currencies or not currencies else currencies[0]
    revenue = _by_month([row for row in payments if row["currency"] == currency])
    royalties = {row["month"]: row["net"] for row in royalties_by_month() if row["currency"] == currency}
    royalties = _by_month([{"month": m, "n": v} for m, v in royalties.items()])
    rate = opt_out_rate_by_month(months=months, now=now)
    rows = []
    for n, month in enumerate(starts):
        rows.append({
            "month": month, "label": date_format(month, "M Y"), "applied": applied.get(month, 0),
            "approved": approved.get(month, 0), "rejected": rejected.get(month, 0),
            "granted": grants.get(month, 0), "slices": slices.get(month, 0),
            "revenue": revenue.get(month, 0), "royalties": royalties.get(month, 0),
            "contributors": rate[n]["contributors"], "opted_out": rate[n]["opted_out"], "rate": rate[n]["rate"],
            "opt_outs": rate[n]["opt_outs"],
        })
    return {"rows": rows, "currency": currency, "other_currencies": [c for c in currencies if c != currency]}
