"""What anyone may see without logging in: which licensees were granted how many works, and
when; what contributors were paid; public contributor pages; the TDMRep opt-out file.

Contributors are never named here unless they chose a public profile.
"""
import json

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from licensing.selectors.contributors import public_contributor, work_counts
from licensing.selectors.transparency import (
    grants_by_licensee,
    tdm_reservations,
    transparency_report,
)



def _tdm_headers(response):
    response["tdm-reservation"] = "1"
    policy = getattr(settings, "TDM_POLICY_URL", "")
    if policy:
        response["tdm-policy"] = policy
    return response


@require_GET
def transparency(request):
    return render(request, "transparency/index.html", {
        **transparency_report(),
        "royalty_percent": int(settings.ROYALTY_SHARE * 100),
    })


@require_GET
def contributor_page(request, pk):
    contributor = public_contributor(pk=pk)
    response = render(request, "transparency/contributor.html", {
        "contributor": contributor,
        "counts": work_counts(contributor=contributor),
        "grants": grants_by_licensee(contributor=contributor),
    })
    if contributor.opted_out:
        # W3C TDMRep: the rightsholder reserves text and data mining rights for this page.
        _tdm_headers(response)
    return response


@require_GET
def tdmrep(request):
    """/.well-known/tdmrep.json (W3C TDMRep): one rule per reserved path pattern, streamed."""
    policy = getattr(settings, "TDM_POLICY_URL", "")

    def rule(location):
        entry = {"location": location, "tdm-reservation": 1}
        if policy:
            entry["tdm-policy"] = policy
        return json.dumps(entry)

    def chunks():
        yield "["
        for n, location in enumerate(tdm_reservations()):
            yield ("," if n else "") + "\n  " + rule(location)
        yield "\n]\n"

    response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
