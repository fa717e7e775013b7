"""The usage report endpoints: a pipeline sends a report (multipart or raw), once per key and reference,
follows its status, and reads every rejected line; another organisation's version is a 404."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.models import UsageReport
from licensing.services.attribution import usage_report_process
from tests.api.conftest import error_of
from tests.licensing.attribution_world import attribution_world, jsonl, output


@pytest.fixture
def world(org_a, alice):
    return attribution_world(org_a, alice)


@pytest.fixture
def key(world, make_key):
    return make_key(world.org)[1]


@pytest.fixture
def base(world):
    return f"/api/v1/models/{world.model.pk}/versions/{world.version.pk}/usage-reports/"


def body_of(world):
    return jsonl([output("o-1", "10.00", {world.ann: 0.5, world.ben: 0.2}), output("o-2", "5.00", {world.cat: 1})])


FIELDS = {"reference": "2026-Q3", "period_start": "2026-07-01", "period_end": "2026-09-30"}


def test_a_report_is_uploaded_once_per_idempotency_key_then_processed(api, key, world, base):
    client = api(key)
    send = lambda: client.post(base, {**FIELDS, "file": SimpleUploadedFile("q3.jsonl", body_of(world))},  # noqa: E731
                               format="multipart", HTTP_IDEMPOTENCY_KEY="report-1")
    first, again = send(), send()
    assert first.status_code == 202, first.json()
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert first.json()["status"] == "received" and first.json()["reference"] == "2026-Q3"
    assert UsageReport.objects.count() == 1
    report_id = first.json()["id"]
    usage_report_process(report_id=report_id)

    detail = client.get(f"{base}{report_id}/").json()
    assert (detail["status"], detail["progress"], detail["outputs"], detail["rejected_lines"]) == (
        "processed", 100, 2, [])
    assert detail["pool"] == "3.00" and detail["invoice"] is not None
    listed = client.get(base).json()
    assert [r["id"] for r in listed["results"]] == [report_id]
    # The same reference under a new key: the report already sent, nothing new.
    resent = client.post(base, {**FIELDS, "file": SimpleUploadedFile("q3.jsonl", body_of(world))},
                         format="multipart", HTTP_IDEMPOTENCY_KEY="report-2")
    assert resent.status_code == 200 and resent.json()["id"] == report_id


def test_the_same_key_with_another_file_is_refused(api, key, world, base):
    client = api(key)
    client.post(base, {**FIELDS, "file": SimpleUploadedFile("q3.jsonl", body_of(world))}, format="multipart",
                HTTP_IDEMPOTENCY_KEY="k")
    other = client.post(base, {**FIELDS, "file": SimpleUploadedFile("q3.jsonl", b"{}\n")}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="k")
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"


def test_a_raw_jsonl_body_with_the_fields_in_the_query_is_taken(api, key, world, base):
    query = "&".join(f"{k}={v}" for k, v in FIELDS.items())
    response = api(key).post(f"{base}?{query}", body_of(world), content_type="application/x-ndjson",
                             HTTP_IDEMPOTENCY_KEY="raw-1")
    assert response.status_code == 202, response.json()
    report = UsageReport.objects.get()
    assert report.format == "jsonl" and report.bytes == len(body_of(world))


def test_a_rejected_report_lists_its_lines(api, key, world, base):
    body = jsonl([output("o-1", "10.00", {world.ann: 0.5}), output("o-2", "oops", {world.ann: 0.5})])
    response = api(key).post(base, {**FIELDS, "file": SimpleUploadedFile("q3.jsonl", body)}, format="multipart")
    usage_report_process(report_id=response.json()["id"])
    detail = api(key).get(f"{base}{response.json()['id']}/").json()
    assert detail["status"] == "rejected" and detail["rejected_count"] == 1
    assert detail["rejected_lines"] == [{"line": 2, "reason": "revenue is not a number"}]
    assert detail["invoice"] is None


def test_missing_fields_and_files_are_refused_naming_them(api, key, world, base):
    no_file = api(key).post(base, FIELDS, format="multipart")
    assert no_file.status_code == 400 and error_of(no_file)["fields"] == {"file": ["Missing."]}
    backwards = api(key).post(base, {**FIELDS, "period_end": "2026-01-01",
                                     "file": SimpleUploadedFile("q3.jsonl", body_of(world))}, format="multipart")
    assert backwards.status_code == 422 and "period_end" in error_of(backwards)["fields"]


def test_another_organisations_version_and_report_are_404(api, world, base, org_b, bob, make_key):
    other_key = make_key(org_b)[1]
    assert api(other_key).get(base).status_code == 404
    response = api(other_key).post(base, {**FIELDS, "file": SimpleUploadedFile("q3.jsonl", body_of(world))},
                                   format="multipart")
    assert response.status_code == 404 and not UsageReport.objects.exists()
    mine = api(make_key(world.org)[1]).post(base, {**FIELDS, "file": SimpleUploadedFile("q.jsonl", body_of(world))},
                                            format="multipart").json()
    assert api(other_key).get(f"{base}{mine['id']}/").status_code == 404


def test_a_report_may_be_larger_than_other_bodies_but_not_than_its_own_limit(api, key, world, base, settings):
    settings.API_MAX_BODY_BYTES = 100
    settings.USAGE_REPORT_MAX_BYTES = 2000
    query = "&".join(f"{k}={v}" for k, v in FIELDS.items())
    taken = api(key).post(f"{base}?{query}", body_of(world) * 5, content_type="application/x-ndjson")
    assert taken.status_code == 202, taken.json()
    refused = api(key).post(f"{base}?{query}", b"x" * 2001, content_type="application/x-ndjson")
    assert refused.status_code == 413 and error_of(refused)["code"] == "too_large"
