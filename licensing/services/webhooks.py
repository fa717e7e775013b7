"""Webhooks: endpoints an organisation's owner registers, events emitted by the services that cause
them, and their delivery through the outbox, signed as Standard Webhooks.

`webhook_emit` runs inside the transaction of the change it tells about: the message, one
delivery per subscribed endpoint and their jobs commit with the change or not at all. A delivery
job that fails (an answer other than 2xx, a timeout, a refused connection) raises, so the outbox
backs it off (jobs.BACKOFF: about a day of retries); its attempts are the delivery log.
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Membership
from licensing import jobs
from licensing.models import (
    EVENT_TYPES,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from licensing.services.audit import audit

log = structlog.get_logger(__name__)

EVENTS = tuple(name for name, _ in EVENT_TYPES)
SECRET_PREFIX = "whsec_"
EXCERPT_BYTES = 1024
USER_AGENT = "Tessera-Webhooks/1"


class WebhookRefused(Exception):
    """An endpoint that cannot be registered, or an action that cannot be taken; the message says why."""


class WebhookDeliveryFailed(Exception):
    """This attempt failed; the outbox retries it after its backoff."""


# --- Endpoints -------------------------------------------------------------------

def new_secret():
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_owner(by, organisation_id):
    if by is None:
        return  # an API key of the organisation: its scope was checked by the API
    membership = getattr(by, "membership", None)
    if membership is None or membership.organisation_id != organisation_id or membership.role != Membership.Role.OWNER:
        raise WebhookRefused(gettext("Only the organisation's owner manages its webhooks."))


def _clean_events(events):
    if not isinstance(events, (list, tuple)) or not events or not all(isinstance(e, str) for e in events):
        raise WebhookRefused(gettext("Choose the events to send, some of: %(items)s.") % {"items": ', '.join(EVENTS)})
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise WebhookRefused(gettext("Unknown events %(items)s; the events are %(items2)s.")
                             % {"items": ', '.join(unknown), "items2": ', '.join(EVENTS)})
    return [event for event in EVENTS if event in events]


def webhook_endpoint_create(*, organisation, by, url, events, description="", api_key=None):
    """Returns (endpoint, secret): the secret is shown once, like an API key."""
    _check_owner(by, organisation.pk)
    url = check_destination(url)
    events = _clean_events(events)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organisation=organisation, url=url, events=events, description=(description or "").strip()[:200],
            secret=new_secret(), created_by=by)
        audit(actor=by, api_key=api_key, organisation=organisation, action="webhook.create", target=endpoint,
              payload={"url": url, "events": events})
    return endpoint, endpoint.secret


def webhook_endpoint_update(*, endpoint, by, url=None, events=None, description=None, active=None, api_key=None):
    _check_owner(by, endpoint.organisation_id)
    changes = {}
    if url is not None:
        changes["url"] = check_destination(url)
    if events is not None:
        changes["events"] = _clean_events(events)
    if description is not None:
        changes["description"] = description.strip()[:200]
    if active is not None:
        changes["active"] = bool(active)
        if active:
            changes["disabled_reason"] = ""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        for name, value in changes.items():
            setattr(endpoint, name, value)
        endpoint.save()
        audit(actor=by, api_key=api_key, organisation=endpoint.organisation, action="webhook.update", target=endpoint,
              payload={k: v for k, v in changes.items()})
    return endpoint


def webhook_endpoint_delete(*, endpoint, by, api_key=None):
    _check_owner(by, endpoint.organisation_id)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        audit(actor=by, api_key=api_key, organisation=endpoint.organisation, action="webhook.delete", target=endpoint,
              payload={"url": endpoint.url})
        endpoint.delete()


def webhook_secret_rotate(*, endpoint, by, api_key=None, now=None):
    """A new secret; the old one keeps signing beside it for WEBHOOK_SECRET_OVERLAP_SECONDS, so the
    receiver can switch without losing a message. Returns (endpoint, new secret)."""
    _check_owner(by, endpoint.organisation_id)
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit(actor=by, api_key=api_key, organisation=endpoint.organisation, action="webhook.rotate_secret",
              target=endpoint, payload={"old_secret_signs_until": endpoint.previous_secret_expires_at})
    return endpoint, endpoint.secret


# --- Where Tessera may send --------------------------------------------------------

def check_destination(url):
    """The URL as stored, or WebhookRefused: not http(s), or a host that resolves to an address that
    is not public (private, loopback, link-local, unique-local, multicast, reserved …)."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookRefused(gettext("Give the endpoint's URL, e.g. https://pipeline.example/hooks/tessera."))
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("https",) if settings.WEBHOOKS_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname:
        raise WebhookRefused(gettext("The endpoint must be an %(items)s URL with a host name.")
                             % {"items": ' or '.join(schemes)})
    if parts.username or parts.password:
        raise WebhookRefused(gettext("The endpoint URL must not carry a user name or password: verify the signature instead."))
    if len(url) > 500:
        raise WebhookRefused(gettext("The endpoint URL is longer than 500 characters."))
    try:
        _ = parts.port
    except ValueError:
        raise WebhookRefused(gettext("The endpoint URL's port is not a number from 0 to 65535.")) from None
    _allowed_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return url


def _allowed_addresses(host, port):
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookRefused(gettext("The endpoint's host %(host)s does not resolve.") % {"host": host}) from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global and not settings.WEBHOOKS_ALLOW_PRIVATE:
            raise WebhookRefused(gettext("The endpoint's host %(host)s resolves to %(address)s, a private, loopback or link-local "
                                         "address: webhooks go only to public addresses.")
                                 % {"host": host, "address": address})
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses


# --- Events --------------------------------------------------------------------------

def webhook_emit(*, organisation_id, event_type, data, dedupe=None, now=None):
    """Tell the organisation's endpoints that want `event_type`. Call inside the transaction of the change;
    returns the message, or None when no endpoint wants it (or `dedupe` said it already)."""
    if event_type not in EVENTS:
        raise ValueError(f"No webhook event is called {event_type!r}.")
    endpoints = [e for e in WebhookEndpoint.objects.filter(organisation_id=organisation_id, active=True)
                 if e.wants(event_type)]
    if not endpoints:
        return None
    now = now or timezone.now()
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "data": data}, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    try:
        with transaction.atomic():  # a repeated dedupe key is a no-op, not a failed outer transaction
            message = WebhookMessage.objects.create(organisation_id=organisation_id, msg_id=_message_id(),
                                                    event_type=event_type, body=body, dedupe_key=dedupe)
    except IntegrityError:
        if dedupe is None:
            raise
        return None
    for endpoint in endpoints:
        _schedule(WebhookDelivery.objects.create(message=message, endpoint=endpoint))
    return message


def _message_id():
    return "msg_" + secrets.token_urlsafe(18)


def _schedule(delivery):
    jobs.schedule("webhook.deliver", delivery_id=delivery.pk, dedupe=f"webhook.deliver:{delivery.pk}")


def webhook_delivery_replay(*, delivery, by, api_key=None):
    """Send the message again to the same endpoint, with the same webhook-id, as a new delivery."""
    _check_owner(by, delivery.endpoint.organisation_id)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if not endpoint.active:
            raise WebhookRefused(gettext("This endpoint is disabled: enable it before replaying deliveries to it."))
        replay = WebhookDelivery.objects.create(message_id=delivery.message_id, endpoint=endpoint, replay_of=delivery)
        audit(actor=by, api_key=api_key, organisation=endpoint.organisation, action="webhook.replay", target=replay,
              payload={"replay_of": delivery.pk, "msg_id": delivery.message.msg_id})
        _schedule(replay)
    return replay


# --- Delivery ------------------------------------------------------------------------

def signing_secrets(endpoint, *, now=None):
    now = now or timezone.now()
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(endpoint.previous_secret)
    return found


def sign(secret, msg_id, timestamp, body):
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the secret's decoded bytes as key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def webhook_deliver(*, delivery_id):
    """One attempt of a delivery. Raises WebhookDeliveryFailed when it should be retried."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "message").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return None
    endpoint, message = delivery.endpoint, delivery.message
    if not endpoint.active:
        _finish(delivery, DeliveryState.FAILED, error=f"Endpoint disabled: {endpoint.disabled_reason or 'by its owner'}.")
        return delivery
    started_at, started = timezone.now(), time.monotonic()
    status, excerpt, error = None, "", ""
    try:
        status, excerpt = _post(endpoint, message, started_at)
    except WebhookRefused as refusal:
        error = str(refusal)
    except httpx.TimeoutException:
        error = f"Timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s."
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    retryable = False
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state != DeliveryState.PENDING:
            return delivery
        WebhookAttempt.objects.create(delivery=delivery, attempted_at=started_at, status_code=status,
                                      duration_ms=duration_ms, response_excerpt=excerpt, error=error[:500])
        delivery.attempts += 1
        delivery.last_attempt_at = started_at
        if status is not None and 200 <= status < 300:
            delivery.state, delivery.finished_at = DeliveryState.SUCCEEDED, timezone.now()
        elif status == 410:
            # Standard Webhooks: 410 Gone means the receiver unsubscribed. Stop sending to it.
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                active=False, disabled_reason=f"It answered 410 Gone on {started_at:%Y-%m-%d %H:%M} UTC.")
            delivery.state, delivery.finished_at = DeliveryState.FAILED, timezone.now()
        elif error and status is None and _is_refusal(error):
            delivery.state, delivery.finished_at = DeliveryState.FAILED, timezone.now()
        elif delivery.attempts >= jobs.backoff_for("webhook.deliver").attempts:
            delivery.state, delivery.finished_at, retryable = DeliveryState.FAILED, timezone.now(), True
        delivery.save(update_fields=["state", "attempts", "last_attempt_at", "finished_at"])
    log.info("webhook_attempt", delivery=delivery_id, status=status, error=error, ms=duration_ms)
    if delivery.state == DeliveryState.PENDING or (delivery.state == DeliveryState.FAILED and retryable):
        # Raised on the last attempt too, so that the outbox job shows as failed with the error.
        raise WebhookDeliveryFailed(f"{endpoint.url} answered {status}" if status else error)
    return delivery


def _is_refusal(error):
    return "webhooks go only to public addresses" in error or "does not resolve" in error


def _finish(delivery, state, *, error):
    with transaction.atomic():
        WebhookAttempt.objects.create(delivery=delivery, attempted_at=timezone.now(), error=error[:500])
        WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            state=state, finished_at=timezone.now())


def _post(endpoint, message, now):
    """POST the signed message to the endpoint at an address checked here, not at one a second DNS
    answer might give; redirects are not followed. Returns (status, the answer's first kilobyte)."""
    parts = urlsplit(endpoint.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _allowed_addresses(parts.hostname, port)[0]
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    timestamp = int(now.timestamp())
    body = message.body.encode()
    headers = {
        "Host": parts.netloc, "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "webhook-id": message.msg_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, message.msg_id, timestamp, body) for s in signing_secrets(endpoint, now=now)),
    }
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        with client.stream("POST", target, content=body, headers=headers, extensions=extensions) as response:
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            return response.status_code, excerpt[:EXCERPT_BYTES].decode("utf-8", "replace")
