"""What anyone may see without logging in: which licensees were granted how many works, and
when; what contributors were paid; public contributor pages; the TDMRep opt-out file.

Contributors are never named here unless they chose a public profile.
"""
import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from licensing import rights
from licensing.selectors.contributors import public_contributor, work_counts
from licensing.selectors.transparency import (
    grants_by_licensee,
    tdm_reservations,
    transparency_report,
)
from licensing.terms import catalogue_offer


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


@require_GET
def licence_document(request):
    """/license.xml: the catalogue's RSL 1.0 licence document."""
    response = HttpResponse(rights.rsl_document(), content_type=f"{rights.RSL_MEDIA_TYPE}; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def robots(request):
    response = HttpResponse(rights.robots_txt(), content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def offer_terms(request):
    """The catalogue's standing ODRL offer: what TDMRep's tdm-policy and RSL's <standard> point at."""
    response = JsonResponse(catalogue_offer(), content_type="application/ld+json", json_dumps_params={"indent": 2})
    response["Access-Control-Allow-Origin"] = "*"
    return response
