"""The published OpenAPI schema tells the truth: Schemathesis generates requests for every operation,
against real objects of org A (and ids that are not), and every response is documented and matches.
"""
import time
from datetime import date
from decimal import Decimal

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from licensing.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from licensing.services.ai_models import (
    ai_model_register,
    model_version_add,
    training_declare,
)
from licensing.services.attribution import usage_report_upload
from licensing.services.webhooks import new_secret
from tests.api.conftest import ready_slice
from tests.licensing.factories import commercial_licence

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = {
    "GET /api/v1/licences/", "GET /api/v1/licences/{id}/", "GET /api/v1/licences/{id}/terms.jsonld",
    "GET /api/v1/licences/{id}/slices/", "POST /api/v1/licences/{id}/slices/", "GET /api/v1/slices/{id}/",
    "GET /api/v1/slices/{id}/items/", "GET /api/v1/slices/{id}/{fmt}", "GET /api/v1/invoices/",
    "GET /api/v1/invoices/{id}/", "GET /api/v1/invoices/{id}/pdf",
    "GET /api/v1/models/", "POST /api/v1/models/", "GET /api/v1/models/{id}/", "GET /api/v1/models/{id}/versions/",
    "POST /api/v1/models/{id}/versions/", "GET /api/v1/models/{id}/versions/{version_id}/",
    "POST /api/v1/models/{id}/versions/{version_id}/declarations/",
    "POST /api/v1/models/{id}/versions/{version_id}/release/",
    "GET /api/v1/models/{id}/versions/{version_id}/eu-summary.json",
    "GET /api/v1/models/{id}/versions/{version_id}/README.md",
    "GET /api/v1/licences/{id}/withdrawals/", "GET /api/v1/slices/{id}/shards/",
    "GET /api/v1/webhooks/", "POST /api/v1/webhooks/", "GET /api/v1/webhooks/{id}/", "PATCH /api/v1/webhooks/{id}/",
    "DELETE /api/v1/webhooks/{id}/", "POST /api/v1/webhooks/{id}/rotate-secret/",
    "GET /api/v1/webhooks/{id}/deliveries/", "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/replay/",
    "GET /api/v1/models/{id}/versions/{version_id}/usage-reports/",
    "POST /api/v1/models/{id}/versions/{version_id}/usage-reports/",
    "GET /api/v1/models/{id}/versions/{version_id}/usage-reports/{report_id}/",
}
REPORT = b'{"output_id": "o-1", "revenue": "10.00", "scores": {}}\n'

# Each operation's share of the time limits below.
SECONDS_PER_OPERATION = 40 / 11


@pytest.fixture
def webhooks(world_a, world_b):
    """An endpoint with one delivery in each world, for the webhook operations' real ids. Their ids are
    far from the small ones generated ids favour, which the generated DELETEs would otherwise remove."""
    for world in (world_a, world_b):
        world.webhook = WebhookEndpoint.objects.create(pk=900_000_000 + world.org.pk, organisation=world.org,
                                                       url="https://hooks.example/in",
                                                       events=["slice.ready"], secret=new_secret())
        message = WebhookMessage.objects.create(organisation=world.org, msg_id=f"msg_{world.org.pk}",
                                                event_type="slice.ready", body='{"type":"slice.ready","data":{}}')
        world.delivery = WebhookDelivery.objects.create(message=message, endpoint=world.webhook)
        world.webhook_to_delete = WebhookEndpoint.objects.create(organisation=world.org, url="https://hooks.example/x",
                                                                 events=["slice.ready"], secret=new_secret())


def with_model(world):
    """The world's organisation registers a model with one version, not yet declared or released."""
    world.model = ai_model_register(organisation=world.org, by=world.owner, name=f"{world.org.name} model",
                                    modality="image", purpose="Schema checks.")
    world.version = model_version_add(model=world.model, by=world.owner, label="1.0")
    # A commercial licence whose slice trained the version, and a report of its usage.
    commercial = commercial_licence(organisation=world.org, applicant=world.owner, offer_fee=Decimal("100.00"),
                                    offer_currency="EUR", offer_term_months=12)
    training_declare(version=world.version, by=world.owner, slice_id=ready_slice(commercial, world.owner, 2).pk)
    world.report, _ = usage_report_upload(version=world.version, upload=SimpleUploadedFile("r.jsonl", REPORT),
                                          reference="schema", period_start=date(2026, 7, 1),
                                          period_end=date(2026, 9, 30))
    return world


@pytest.fixture
def worlds(world_a, world_b):
    return with_model(world_a), with_model(world_b)


# What a POST needs for the licence to grant it: generated bodies mostly ask for more than the caps,
# or name slices that do not exist.
def grantable_body(path, world):
    if path.endswith("/usage-reports/"):
        return {"file": REPORT, "reference": "by the schema test", "period_start": "2026-07-01",
                "period_end": "2026-09-30"}
    if path.endswith("/slices/"):
        return {"size": 1}
    if path.endswith("/declarations/"):
        return {"slice": world.slice.pk}
    if path.endswith("/versions/"):
        return {"label": "2.0"}
    if path == "/api/v1/models/":
        return {"name": "Registered by the schema test", "modality": "image"}
    if path == "/api/v1/webhooks/":
        # Generated URLs name no host that resolves: one that does (loopback, allowed in these tests).
        return {"url": "http://localhost/hooks", "events": ["slice.ready"]}
    return None


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, answering in this thread on the test's connection (and transaction),
    as Django's own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_REQUIRE_HTTPS = True, False
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api-read": "100000/min", "api-write": "100000/min"}}


def real_ids(path, world, method="get"):
    """The path's {id} set to the world's licence, slice or invoice; {fmt} is left to be generated."""
    if path.startswith("/api/v1/licences/{id}"):
        return {"id": world.licence.pk}
    if path.startswith("/api/v1/slices/{id}"):
        return {"id": world.slice.pk}
    if path.startswith("/api/v1/invoices/{id}"):
        return {"id": world.invoice.pk}
    if "{report_id}" in path:
        return {"id": world.model.pk, "version_id": world.version.pk, "report_id": world.report.pk}
    if path.startswith("/api/v1/models/{id}/versions/{version_id}"):
        return {"id": world.model.pk, "version_id": world.version.pk}
    if path.startswith("/api/v1/models/{id}"):
        return {"id": world.model.pk}
    if path.startswith("/api/v1/webhooks/{id}/deliveries/{delivery_id}"):
        return {"id": world.webhook.pk, "delivery_id": world.delivery.pk}
    if path.startswith("/api/v1/webhooks/{id}"):
        # A DELETE of its own, so that the other operations still find theirs.
        return {"id": (world.webhook_to_delete if method.lower() == "delete" else world.webhook).pk}
    raise AssertionError(f"no real object for {path}")


def run_schemathesis(wsgi_app, plaintext, world_a, world_b, mode, examples):
    """Every operation, `examples` cases each: org A's real ids, org B's, and generated ones.
    Returns the status codes seen per operation; raises on the first failed check."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} == OPERATIONS
    statuses = {}
    for operation in operations:
        strategies = [operation.as_strategy(mode)]
        if "{id}" in operation.path:
            strategies += [operation.as_strategy(mode, path_parameters=real_ids(operation.path, world_a, operation.method)),
                           operation.as_strategy(mode, path_parameters=real_ids(operation.path, world_b, operation.method))]
        body = grantable_body(operation.path, world_a)
        if operation.method == "post" and mode == GenerationMode.POSITIVE and body is not None:
            strategies.append(operation.as_strategy(
                path_parameters=real_ids(operation.path, world_a) if "{id}" in operation.path else {},
                body=body, media_type="multipart/form-data" if "file" in body else "application/json"))
        seen = statuses.setdefault(operation.label, set())

        @given(case=st.one_of(strategies))
        @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def conforms(case):
            response = case.call(headers={"Authorization": f"Bearer {plaintext}"})
            seen.add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        conforms()
    return statuses


def test_every_answer_to_a_valid_request_matches_the_schema(wsgi_app, unthrottled, worlds, webhooks, key_a):
    world_a, world_b = worlds
    started = time.monotonic()
    statuses = run_schemathesis(wsgi_app, key_a[1], world_a, world_b, GenerationMode.POSITIVE, examples=25)
    assert time.monotonic() - started < SECONDS_PER_OPERATION * len(OPERATIONS)
    # Org A's real objects were reached: every operation answered 2xx at least once.
    assert {label: codes for label, codes in statuses.items() if not any(200 <= c < 300 for c in codes)} == {}
    # Org B's were not.
    assert all(404 in codes for label, codes in statuses.items() if "{id}" in label)


def test_invalid_requests_get_documented_json_errors(wsgi_app, unthrottled, worlds, webhooks, key_a):
    world_a, world_b = worlds
    started = time.monotonic()
    statuses = run_schemathesis(wsgi_app, key_a[1], world_a, world_b, GenerationMode.NEGATIVE, examples=15)
    assert time.monotonic() - started < SECONDS_PER_OPERATION * 30 / 40 * len(OPERATIONS)
    # Invalid bodies and filters were refused as such (the checks above: as documented JSON errors, never a 5xx).
    assert 400 in statuses["POST /api/v1/licences/{id}/slices/"]
    assert 400 in statuses["GET /api/v1/licences/"]
