"""Licensor staff's dashboard: the year at a glance, drawn on the server."""
from django.shortcuts import render
from django.utils.translation import gettext

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
        {"id": "applications", "title": gettext("Applications and approvals"),
         "svg": bar_chart(title=gettext("Applications and approvals by month"), labels=labels,
                          bars=[("applications", series("applied")), ("approvals", series("approved"))]),
         "legend": [("", gettext("Applications submitted")), ("second", gettext("Research licences approved"))],
         "columns": [("applied", gettext("Applications")), ("approved", gettext("Approvals")),
                     ("rejected", gettext("Rejections"))]},
        {"id": "grants", "title": gettext("Works granted"),
         "svg": bar_chart(title=gettext("Works granted in slices by month"), labels=labels,
                          bars=[("works", series("granted"))]),
         "legend": [("", gettext("Works granted in ready slices"))],
         "columns": [("granted", gettext("Works granted")), ("slices", gettext("Slices built"))]},
        {"id": "revenue", "title": gettext("Revenue and royalties (%(currency)s)") % {"currency": currency},
         "svg": bar_chart(title=gettext("Payments received and royalties credited by month, %(currency)s")
                          % {"currency": currency}, labels=labels,
                          bars=[("payments", series("revenue")), ("royalties", series("royalties"))]),
         "legend": [("", gettext("Payments received (%(currency)s, including VAT)") % {"currency": currency}),
                    ("second", gettext("Royalties credited to contributors (%(currency)s)") % {"currency": currency})],
         "columns": [("revenue", gettext("Payments (%(currency)s)") % {"currency": currency}),
                     ("royalties", gettext("Royalties (%(currency)s)") % {"currency": currency})], "money": True},
        {"id": "opt-outs", "title": gettext("Opt-out rate"),
         "svg": bar_chart(title=gettext("Opt-outs by month and the share of contributors opted out"), labels=labels,
                          bars=[("opt-outs", series("opt_outs"))], line=("rate", series("rate"))),
         "legend": [("", gettext("Opt-outs in the month")),
                    ("line", gettext("Contributors opted out at month end (%)"))],
         "columns": [("opt_outs", gettext("Opt-outs")), ("opted_out", gettext("Opted out at month end")),
                     ("rate", gettext("Rate (%)"))]},
    ]
    for chart in charts:
        chart["empty"] = not any(row[key] for row in rows for key, _ in chart["columns"])
        chart["rows"] = [{"label": row["label"], "cells": [row[key] for key, _ in chart["columns"]]} for row in rows]
    return render(request, "staff/dashboard.html", {"charts": charts, "figures": figures})
