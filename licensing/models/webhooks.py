"""Webhooks: an organisation's endpoints, the messages Tessera sends them, and every attempt.

Messages follow Standard Webhooks: one `webhook-id` per message, kept on every retry and
replay, so a receiver can deduplicate. A delivery is one message to one endpoint; each try
is an attempt row, which is the delivery log the owner reads.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

EVENT_TYPES = (
    ("slice.ready", "A slice is built and can be downloaded"),
    ("slice.failed", "A slice could not be built"),
    ("licence.state_changed", "A licence changed state"),
    ("invoice.issued", "An invoice or credit note was issued"),
    ("invoice.overdue", "An invoice is past its due date"),
    ("items.withdrawn", "Items were withdrawn from slices: purge them"),
)


class WebhookEndpoint(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text=_("Event types sent to this endpoint."))
    # The signing key must be read to sign, so it is kept as is (unlike API keys, which are hashed).
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organisation", "active"], name="webhook_endpoint_org_idx")]

    def __str__(self):
        return self.url

    def wants(self, event_type):
        return self.active and event_type in self.events


class WebhookMessage(models.Model):
    """One event as sent: its `webhook-id` and the body signed on every attempt."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    msg_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    body = models.TextField(help_text=_("The JSON body exactly as signed and sent, on every attempt."))
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True,
                                  help_text=_("An event said once however often its cause is seen (invoice.overdue)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.event_type} {self.msg_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")  # not delivered yet: waiting for its first try or a retry
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")  # gave up: retries spent, or the endpoint refused for good


class WebhookDelivery(models.Model):
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint_idx")]

    def __str__(self):
        return f"{self.message} to {self.endpoint} ({self.state})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, help_text=_("The first kilobyte of the answer."))
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self):
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"

    @property
    def succeeded(self):
        return self.status_code is not None and 200 <= self.status_code < 300
