"""Webhooks delivered to a real HTTP receiver on loopback: signed as Standard Webhooks (checked with the
independent standardwebhooks package), retried with backoff after 500s and timeouts, replayed, refused
for private addresses; and emitted by the services that make the changes."""
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from licensing import jobs, tasks
from licensing.models import AuditEvent, DeliveryState, Job, JobState, WebhookDelivery, WebhookMessage
from licensing.services.billing import dunning_run
from licensing.services.catalogue import catalogue_take_down
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.licences import licence_suspend
from licensing.services.webhooks import (
    WebhookDeliveryFailed,
    WebhookRefused,
    check_destination,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_secret_rotate,
)
from tests.api.conftest import issued_invoice
from tests.licensing.factories import ContributorFactory, catalogue, research_licence
from tests.licensing.test_slice_downloads import build


class Receiver:
    """An HTTP server in a thread that records every request and answers from a script of statuses;
    "slow" sleeps past the sender's timeout."""

    def __init__(self):
        self.requests, self.script = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                action = receiver.script.pop(0) if receiver.script else 200
                if action == "slow":
                    time.sleep(1.5)
                    action = 200
                try:
                    self.send_response(action)
                    if action == 302:
                        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    answer = (f"answer {action} " + "x" * 2000).encode()
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_REQUIRE_HTTPS = True, False
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def endpoint(receiver, org_a, alice):
    endpoint, secret = webhook_endpoint_create(organisation=org_a, by=alice, url=receiver.url,
                                               events=["slice.ready", "slice.failed", "licence.state_changed",
                                                       "invoice.issued", "invoice.overdue", "items.withdrawn"])
    endpoint.plain_secret = secret
    return endpoint


def deliver(delivery):
    """What the worker does with the delivery's outbox job (the sweeper hands it over after its backoff)."""
    job = Job.objects.get(dedupe_key=f"webhook.deliver:{delivery.pk}")
    tasks.deliver_webhook(delivery_id=delivery.pk, job_id=job.pk)
    return Job.objects.get(pk=job.pk)


def ready_slice(org_a, alice, size=2):
    catalogue(4)
    licence = research_licence(organisation=org_a, applicant=alice)
    return licence, build(licence, alice, size=size, seed=1)


def test_a_slice_ready_event_arrives_signed_as_standard_webhooks(receiver, endpoint, org_a, alice):
    licence, slice_ = ready_slice(org_a, alice)
    (delivery,) = WebhookDelivery.objects.filter(message__event_type="slice.ready")

    job = deliver(delivery)

    (request,) = receiver.requests
    event = Webhook(endpoint.plain_secret).verify(request["body"], request["headers"])
    assert event["type"] == "slice.ready"
    assert event["data"]["slice"] == slice_.pk and event["data"]["asset_count"] == 2
    assert request["headers"]["webhook-id"] == delivery.message.msg_id
    assert request["headers"]["webhook-signature"].startswith("v1,")
    assert request["path"] == "/hooks"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, job.state) == (DeliveryState.SUCCEEDED, 1, JobState.DONE)
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code == 200
    assert len(attempt.response_excerpt) == 1024 and attempt.response_excerpt.startswith("answer 200")


def test_failures_are_retried_with_backoff_until_one_succeeds(receiver, endpoint, org_a, alice):
    receiver.script = [500, "slow", 200]
    ready_slice(org_a, alice)
    delivery = WebhookDelivery.objects.get(message__event_type="slice.ready")

    before = timezone.now()
    with pytest.raises(WebhookDeliveryFailed):
        deliver(delivery)
    job = Job.objects.get(dedupe_key=f"webhook.deliver:{delivery.pk}")
    assert (job.state, job.attempts, job.max_attempts) == (JobState.WAITING, 1, 9)
    assert before + timedelta(seconds=15) <= job.run_after <= timezone.now() + timedelta(seconds=16.5)

    with pytest.raises(WebhookDeliveryFailed, match="Timed out"):
        deliver(delivery)
    job.refresh_from_db()
    assert job.attempts == 2 and job.run_after >= timezone.now() + timedelta(seconds=55)

    assert deliver(delivery).state == JobState.DONE
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert [a.status_code for a in delivery.attempt_log.order_by("attempted_at")] == [500, None, 200]
    assert "Timed out" in delivery.attempt_log.get(status_code=None).error
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {delivery.message.msg_id}  # one id for every retry


def test_retries_span_about_a_day_and_then_the_delivery_fails(receiver, endpoint, org_a, alice):
    policy = jobs.backoff_for("webhook.deliver")
    assert 22 * 3600 <= policy.span() <= 26 * 3600
    receiver.script = [500] * policy.attempts
    ready_slice(org_a, alice)
    delivery = WebhookDelivery.objects.get(message__event_type="slice.ready")
    for _ in range(policy.attempts):
        with pytest.raises(WebhookDeliveryFailed):
            deliver(delivery)

    delivery.refresh_from_db()
    job = Job.objects.get(dedupe_key=f"webhook.deliver:{delivery.pk}")
    assert (delivery.state, delivery.attempts, job.state) == (DeliveryState.FAILED, policy.attempts, JobState.FAILED)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver, endpoint, org_a, alice):
    receiver.script = [302]
    ready_slice(org_a, alice)
    delivery = WebhookDelivery.objects.get(message__event_type="slice.ready")
    with pytest.raises(WebhookDeliveryFailed, match="302"):
        deliver(delivery)
    assert len(receiver.requests) == 1


def test_410_gone_disables_the_endpoint(receiver, endpoint, org_a, alice):
    receiver.script = [410]
    ready_slice(org_a, alice)
    delivery = WebhookDelivery.objects.get(message__event_type="slice.ready")
    deliver(delivery)
    endpoint.refresh_from_db()
    assert not endpoint.active and "410" in endpoint.disabled_reason
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED


def test_a_replay_sends_the_same_message_again(receiver, endpoint, org_a, alice):
    ready_slice(org_a, alice)
    delivery = WebhookDelivery.objects.get(message__event_type="slice.ready")
    deliver(delivery)

    replay = webhook_delivery_replay(delivery=delivery, by=alice)
    deliver(replay)

    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert Webhook(endpoint.plain_secret).verify(second["body"], second["headers"])
    replay.refresh_from_db()
    assert (replay.state, replay.replay_of_id) == (DeliveryState.SUCCEEDED, delivery.pk)
    assert AuditEvent.objects.filter(action="webhook.replay").count() == 1


def test_after_rotation_both_secrets_verify_until_the_overlap_ends(receiver, endpoint, org_a, alice, settings):
    old = endpoint.plain_secret
    endpoint, new = webhook_secret_rotate(endpoint=endpoint, by=alice)
    ready_slice(org_a, alice)
    deliver(WebhookDelivery.objects.get(message__event_type="slice.ready"))

    (request,) = receiver.requests
    assert len(request["headers"]["webhook-signature"].split()) == 2
    assert Webhook(old).verify(request["body"], request["headers"])
    assert Webhook(new).verify(request["body"], request["headers"])

    endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    endpoint.save()
    replay = webhook_delivery_replay(delivery=WebhookDelivery.objects.get(), by=alice)
    deliver(replay)
    latest = receiver.requests[-1]
    assert len(latest["headers"]["webhook-signature"].split()) == 1
    assert Webhook(new).verify(latest["body"], latest["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(latest["body"], latest["headers"])


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hooks", "http://localhost:8000/", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/",
])
def test_private_loopback_and_link_local_endpoints_are_refused(settings, url, org_a, alice):
    settings.WEBHOOKS_REQUIRE_HTTPS = False
    with pytest.raises(WebhookRefused, match="public addresses"):
        webhook_endpoint_create(organisation=org_a, by=alice, url=url, events=["slice.ready"])


@pytest.mark.parametrize("url, message", [
    ("ftp://hooks.example/", "https URL"), ("https://", "https URL"), ("http://hooks.example/", "https URL"),
    ("https://user:pw@hooks.example/", "user name"), ("https://no-such-host.invalid/", "does not resolve"),
    ("https://hooks.example:99999/", "port"), ("", "Give the endpoint"),
])
def test_malformed_endpoints_are_refused_with_a_reason(settings, url, message):
    settings.WEBHOOKS_REQUIRE_HTTPS = True
    with pytest.raises(WebhookRefused, match=message):
        check_destination(url)


def test_an_address_that_became_private_is_refused_at_delivery(receiver, endpoint, org_a, alice, settings):
    ready_slice(org_a, alice)
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    delivery = WebhookDelivery.objects.get(message__event_type="slice.ready")
    deliver(delivery)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "public addresses" in delivery.attempt_log.get().error
    assert receiver.requests == []


def test_only_the_owner_registers_endpoints(receiver, org_a, amir):
    with pytest.raises(WebhookRefused, match="owner"):
        webhook_endpoint_create(organisation=org_a, by=amir, url=receiver.url, events=["slice.ready"])


def test_unknown_events_are_refused(receiver, org_a, alice):
    with pytest.raises(WebhookRefused, match="Unknown events slice.exploded"):
        webhook_endpoint_create(organisation=org_a, by=alice, url=receiver.url, events=["slice.exploded"])


# --- Events emitted by the services ---------------------------------------------------

def events(event_type):
    return [json.loads(m.body) for m in WebhookMessage.objects.filter(event_type=event_type).order_by("id")]


def test_an_endpoint_gets_only_the_events_it_chose_and_another_organisation_none(receiver, org_a, alice, org_b, bob):
    webhook_endpoint_create(organisation=org_a, by=alice, url=receiver.url, events=["licence.state_changed"])
    webhook_endpoint_create(organisation=org_b, by=bob, url=receiver.url, events=["slice.ready"])
    ready_slice(org_a, alice)
    assert WebhookMessage.objects.count() == 0


def test_a_failed_slice_and_a_licence_change_are_emitted(receiver, endpoint, org_a, alice, adam):
    licence = research_licence(organisation=org_a, applicant=alice)
    failed = build(licence, alice, size=2, seed=1)  # no catalogue: nothing to grant
    assert events("slice.failed")[0]["data"] == {**events("slice.failed")[0]["data"], "slice": failed.pk,
                                                 "status": "failed"}
    assert "No assets match" in events("slice.failed")[0]["data"]["reason"]

    licence_suspend(licence=licence, by=adam, reason="Audit")
    (change,) = events("licence.state_changed")
    assert change["data"]["from_state"] == "research_active" and change["data"]["to_state"] == "suspended"
    assert change["data"]["action"] == "suspend" and change["data"]["licence"] == licence.pk


def test_invoices_issued_and_overdue_are_emitted_overdue_once(receiver, endpoint, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    invoice = issued_invoice(licence)
    (issued,) = events("invoice.issued")
    assert issued["data"]["number"] == invoice.display_number and issued["data"]["gross_total"] == str(invoice.gross_total)

    today = invoice.due_date + timedelta(days=3)
    dunning_run(today=today)
    dunning_run(today=today + timedelta(days=1))
    (overdue,) = events("invoice.overdue")
    assert overdue["data"]["days_late"] == 3 and overdue["data"]["invoice"] == invoice.pk


def test_an_opt_out_emits_the_withdrawn_assets_to_purge(receiver, endpoint, org_a, alice):
    ana = ContributorFactory()
    mine = catalogue(3, contributor=ana)
    catalogue(3)
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_ = build(licence, alice, size=6, seed=1)

    contributor_set_opt_out(contributor=ana, opted_out=True)

    (withdrawn,) = events("items.withdrawn")
    data = withdrawn["data"]
    assert data["licence"] == licence.pk and data["slices"] == [slice_.pk] and data["reason"] == "opt_out"
    assert data["asset_ids"] == sorted(a.pk for a in mine)
    assert data["feed"].endswith(f"/api/v1/licences/{licence.pk}/withdrawals/")
    assert WebhookDelivery.objects.filter(message__event_type="items.withdrawn").count() == 1


def test_a_takedown_emits_the_withdrawn_work_with_the_takedown_s_reason(receiver, endpoint, org_a, alice, adam):
    (work, *_) = catalogue(3)
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_ = build(licence, alice, size=3, seed=1)

    catalogue_take_down(asset=work, by=adam, reason="Court order 2026/114")

    (withdrawn,) = events("items.withdrawn")
    data = withdrawn["data"]
    assert data["licence"] == licence.pk and data["slices"] == [slice_.pk] and data["asset_ids"] == [work.pk]
    assert data["reason"] == "Taken down: Court order 2026/114"
