"""The catalogue browser: a grid of works with facets, and each work's page."""
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from licensing.forms.catalogue import CatalogueFilterForm
from licensing.selectors.catalogue import (
    availability,
    catalogue_page,
    catalogue_viewer,
    facets,
    grants_of,
    work_visible_to,
)
from licensing.selectors.previews import tile


def _query(filters, **cursor):
    pairs = [(key, value) for key, value in filters.items() if key != "tags"]
    pairs += [("tags", tag) for tag in filters.get("tags", [])]
    pairs += [(key, value) for key, value in cursor.items() if value]
    return "?" + urlencode(pairs) if pairs else "?"


def _toggled(filters, facet, value, multiple):
    changed = {key: (list(v) if isinstance(v, list) else v) for key, v in filters.items()}
    if multiple:
        tags = set(changed.get(facet, []))
        tags ^= {value}
        changed[facet] = sorted(tags)
        if not changed[facet]:
            changed.pop(facet)
    elif changed.get(facet) == value:
        changed.pop(facet)
    else:
        changed[facet] = value
        if facet == "kind" and value == "image":
            changed.pop("duration", None)
    return changed


def _viewer_or_refusal(request):
    try:
        return catalogue_viewer(user=request.user), None
    except PermissionDenied as refusal:
        return None, render(request, "catalogue/closed.html", {"reason": str(refusal)}, status=403)


@login_required
def catalogue(request):
    viewer, refusal = _viewer_or_refusal(request)
    if refusal:
        return refusal
    form = CatalogueFilterForm(request.GET)
    filters, cursor = form.filters(), form.cursor()
    page = catalogue_page(filters, **cursor)
    grants = grants_of(licences=viewer["licences"], asset_ids=[w.pk for w in page["works"]])
    groups = facets(filters)
    for group in groups:
        for option in group["options"]:
            option["href"] = _query(_toggled(filters, group["name"], option["value"], group["multiple"]))
    return render(request, "catalogue/index.html", {
        "viewer": viewer, "form": form, "filters": filters, "facets": groups, "page": page,
        "tiles": [tile(work, grants.get(work.pk)) for work in page["works"]],
        "next_href": _query(filters, after=page["next_after"]) if page["next_after"] else None,
        "prev_href": _query(filters, before=page["prev_before"]) if page["prev_before"] else None,
        "first_href": _query(filters) if cursor["after"] or cursor["before"] else None,
        "clear_href": "?" if filters else None,
        "hidden_filters": [(k, v) for k, v in filters.items() if k not in ("q", "tags")]
        + [("tags", t) for t in filters.get("tags", [])],
    })


@login_required
def work_detail(request, pk):
    viewer, refusal = _viewer_or_refusal(request)
    if refusal:
        return refusal
    work = work_visible_to(viewer=viewer, pk=pk)
    return render(request, "catalogue/work.html", {
        "viewer": viewer, "work": work, "tile": tile(work),
        "availability": availability(viewer=viewer, work=work),
        "contributor_named": work.contributor.public_profile or viewer["staff"],
    })
