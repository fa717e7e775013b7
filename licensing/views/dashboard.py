"""Licensor staff's dashboard: the year at a glance, drawn on the server."""
from django.shortcuts import render

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing.charts import bar_chart
from licensing.selectors.dashboard import dashboard
from licensing.views.access import staff_only


@staff_only(REVIEWER, LICENSOR_ADMIN, FINANCE)
def staff_dashboard(request):
    figures = dashboard()
    rows = figures["rows"]
    labels = [row["label"] for row in rows]

    def series(key):
        return [float(row[key]) for row in rows]

    currency = figures["currency"]
    charts = [
        {"id": "applications", "title": "Applications and approvals",
         "svg": bar_chart(title="Applications and approvals by month", labels=labels,
                          bars=[("applications", series("applied")), ("approvals", series("approved"))]),
         "legend": [("", "Applications submitted"), ("second", "Research licences approved")],
         "columns": [("applied", "Applications"), ("approved", "Approvals"), ("rejected", "Rejections")]},
        {"id": "grants", "title": "Works granted",
         "svg": bar_chart(title="Works granted in slices by month", labels=labels, bars=[("works", series("granted"))]),
         "legend": [("", "Works granted in ready slices")],
         "columns": [("granted", "Works granted"), ("slices", "Slices built")]},
        {"id": "revenue", "title": f"Revenue and royalties ({currency})",
         "svg": bar_chart(title=f"Payments received and royalties credited by month, {currency}", labels=labels,
                          bars=[("payments", series("revenue")), ("royalties", series("royalties"))]),
         "legend": [("", f"Payments received ({currency}, including VAT)"),
                    ("second", f"Royalties credited to contributors ({currency})")],
         "columns": [("revenue", f"Payments ({currency})"), ("royalties", f"Royalties ({currency})")], "money": True},
        {"id": "opt-outs", "title": "Opt-out rate",
         "svg": bar_chart(title="Opt-outs by month and the share of contributors opted out", labels=labels,
                          bars=[("opt-outs", series("opt_outs"))], line=("rate", series("rate"))),
         "legend": [("", "Opt-outs in the month"), ("line", "Contributors opted out at month end (%)")],
         "columns": [("opt_outs", "Opt-outs"), ("opted_out", "Opted out at month end"), ("rate", "Rate (%)")]},
    ]
    for chart in charts:
        chart["empty"] = not any(row[key] for row in rows for key, _ in chart["columns"])
        chart["rows"] = [{"label": row["label"], "cells": [row[key] for key, _ in chart["columns"]]} for row in rows]
    return render(request, "staff/dashboard.html", {"charts": charts, "figures": figures})
