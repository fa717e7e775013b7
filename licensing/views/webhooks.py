"""The organisation owner's webhook pages: endpoints, their secret (shown once), the delivery log, replay."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from licensing.forms.webhooks import WebhookEndpointForm
from licensing.selectors.webhooks import (
    deliveries_of,
    delivery_of,
    endpoint_of,
    endpoints_of,
)
from licensing.services.webhooks import (
    WebhookRefused,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_rotate,
)

NEW_SECRET_SESSION = "webhook_secret_shown_once"


def _owner_organisation(request):
    membership = getattr(request.user, "membership", None)
    if membership is None or membership.role != Membership.Role.OWNER:
        raise Http404("Only an organisation's owner manages its webhooks.")
    return membership.organisation


def _no_store(response):
    response["Cache-Control"] = "no-store"  # the page may show a secret
    return response


@login_required
def endpoints(request):
    organisation = _owner_organisation(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(organisation=organisation, by=request.user, **form.cleaned_data)
        except WebhookRefused as refusal:
            form.add_error("url", str(refusal))
        else:
            request.session[NEW_SECRET_SESSION] = [endpoint.pk, secret]
            messages.success(request, _("Endpoint %(url)s registered: copy its signing secret now.")
                                      % {"url": endpoint.url})
            return redirect("webhook_detail", pk=endpoint.pk)
    return _no_store(render(request, "webhooks/list.html", {
        "organisation": organisation, "endpoints": endpoints_of(organisation_id=organisation.pk), "form": form,
    }, status=400 if request.method == "POST" else 200))


@login_required
def endpoint_detail(request, pk):
    organisation = _owner_organisation(request)
    endpoint = endpoint_of(organisation_id=organisation.pk, pk=pk)
    shown = request.session.pop(NEW_SECRET_SESSION, None)
    return _no_store(render(request, "webhooks/detail.html", {
        "organisation": organisation, "endpoint": endpoint,
        "new_secret": shown[1] if shown and shown[0] == endpoint.pk else None,
        "deliveries": deliveries_of(endpoint=endpoint)[:50],
    }))


@login_required
@require_POST
def rotate_secret(request, pk):
    organisation = _owner_organisation(request)
    endpoint, secret = webhook_secret_rotate(endpoint=endpoint_of(organisation_id=organisation.pk, pk=pk),
                                             by=request.user)
    request.session[NEW_SECRET_SESSION] = [endpoint.pk, secret]
    messages.success(request, _("New secret made. The old one also signs until %(previous_secret_expires_at)s UTC.")
                              % {"previous_secret_expires_at": date_format(endpoint.previous_secret_expires_at,
                                                                           "d F Y H:i")})
    return redirect("webhook_detail", pk=endpoint.pk)


@login_required
@require_POST
def toggle(request, pk):
    organisation = _owner_organisation(request)
    endpoint = endpoint_of(organisation_id=organisation.pk, pk=pk)
    endpoint = webhook_endpoint_update(endpoint=endpoint, by=request.user, active=not endpoint.active)
    messages.success(request,
                     (_("Endpoint %(url)s is enabled.") if endpoint.active else _("Endpoint %(url)s is disabled."))
                     % {"url": endpoint.url})
    return redirect("webhook_detail", pk=endpoint.pk)


@login_required
@require_POST
def delete(request, pk):
    organisation = _owner_organisation(request)
    endpoint = endpoint_of(organisation_id=organisation.pk, pk=pk)
    webhook_endpoint_delete(endpoint=endpoint, by=request.user)
    messages.success(request, _("Endpoint %(url)s deleted: nothing more is sent to it.") % {"url": endpoint.url})
    return redirect("webhooks")


@login_required
@require_POST
def replay(request, pk, delivery_id):
    organisation = _owner_organisation(request)
    endpoint = endpoint_of(organisation_id=organisation.pk, pk=pk)
    try:
        webhook_delivery_replay(delivery=delivery_of(endpoint=endpoint, pk=delivery_id), by=request.user)
    except WebhookRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Replay scheduled: it appears in the log below once sent."))
    return redirect("webhook_detail", pk=endpoint.pk)
