"""The owner's webhook pages: register an endpoint (its secret shown once), rotate, the log, replay."""
from licensing.models import Job, WebhookDelivery, WebhookEndpoint
from licensing.services.webhooks import webhook_emit


def test_the_owner_registers_an_endpoint_and_sees_its_secret_once(client_for, alice, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_REQUIRE_HTTPS = True, False
    client = client_for(alice)
    response = client.post("/organisation/webhooks/", {"url": "http://127.0.0.1:9/in", "events": ["slice.ready"]},
                           follow=True)
    endpoint = WebhookEndpoint.objects.get()
    page = response.content.decode()
    assert endpoint.secret in page and response["Cache-Control"] == "no-store"
    assert endpoint.secret not in client.get(f"/organisation/webhooks/{endpoint.pk}/").content.decode()

    client.post(f"/organisation/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.previous_secret and endpoint.previous_secret_expires_at

    webhook_emit(organisation_id=endpoint.organisation_id, event_type="slice.ready", data={"slice": 1})
    delivery = WebhookDelivery.objects.get()
    log = client.get(f"/organisation/webhooks/{endpoint.pk}/").content.decode()
    assert delivery.message.msg_id in log and "Pending" in log
    client.post(f"/organisation/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/replay/")
    assert WebhookDelivery.objects.filter(replay_of=delivery).count() == 1
    assert Job.objects.filter(name="webhook.deliver").count() == 2


def test_a_private_address_is_refused_on_the_form_with_the_reason(client_for, alice):
    response = client_for(alice).post("/organisation/webhooks/", {"url": "https://127.0.0.1/in",
                                                                  "events": ["slice.ready"]})
    assert response.status_code == 400
    assert "public addresses" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_members_and_other_organisations_see_no_webhook_pages(client_for, amir, bob, alice, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_REQUIRE_HTTPS = True, False
    client_for(alice).post("/organisation/webhooks/", {"url": "http://127.0.0.1:9/in", "events": ["slice.ready"]})
    endpoint = WebhookEndpoint.objects.get()
    assert client_for(amir).get("/organisation/webhooks/").status_code == 404
    other = client_for(bob)
    assert other.get(f"/organisation/webhooks/{endpoint.pk}/").status_code == 404
    assert other.post(f"/organisation/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert WebhookEndpoint.objects.exists()
