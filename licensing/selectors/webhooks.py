"""Reads about webhooks: an organisation sees its own endpoints and their delivery log, nobody else's."""
from django.http import Http404

from licensing.models import WebhookDelivery, WebhookEndpoint


def endpoints_of(*, organisation_id):
    return WebhookEndpoint.objects.filter(organisation_id=organisation_id)


def endpoint_of(*, organisation_id, pk):
    endpoint = endpoints_of(organisation_id=organisation_id).filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def deliveries_of(*, endpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("message").prefetch_related("attempt_log")


def delivery_of(*, endpoint, pk):
    delivery = deliveries_of(endpoint=endpoint).filter(pk=pk).first()
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


def last_attempt(delivery):
    attempts = list(delivery.attempt_log.all())
    return attempts[0] if attempts else None

