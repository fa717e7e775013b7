"""The EU AI Act public summary of training content, drafted per model version from the records."""
import html
import io
import json
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from pypdf import PdfReader

from licensing import eu_summary as template
from licensing.selectors.ai_models import eu_summary
from licensing.services.ai_models import (
    ModelRefused,
    eu_summary_answer,
    model_version_release,
    training_declare,
)
from licensing.services.contributors import contributor_set_opt_out
from tests.licensing.ai_model_world import licensee_world

SCHEMA = json.loads((Path(__file__).with_name("eu_summary.schema.json")).read_text(encoding="utf-8"))
SHARED_FIELDS = Path(settings.BASE_DIR).parent / "shared" / "standards" / "eu-ai-act-summary" / "fields.json"


@pytest.fixture
def world(org_a, alice):
    world = licensee_world(org_a, alice)
    contributor_set_opt_out(contributor=world.ben, opted_out=True)  # his 2 videos: left out
    training_declare(version=world.version, by=alice, slice_id=world.slice.pk)
    contributor_set_opt_out(contributor=world.ann, opted_out=False)
    return world


def test_the_fields_are_the_fact_sheets_fields_and_the_schema_covers_each():
    if SHARED_FIELDS.exists():
        assert template.FIELDS == json.loads(SHARED_FIELDS.read_text(encoding="utf-8"))
    ids = [field["id"] for field in template.FIELDS]
    assert SCHEMA["properties"]["fields"]["required"] == ids
    assert set(SCHEMA["properties"]["fields"]["properties"]) == set(ids)


def test_the_summary_validates_against_the_schema_drafted_and_answered(world):
    jsonschema.validate(eu_summary(version=world.version), SCHEMA)

    eu_summary_answer(version=world.version, by=world.owner, answers={
        "0.a": "1", "1.1.a": "Acme Vision Ltd, 1 Acme Street, London", "1.3.a": ["image", "text"],
        "1.3.b.image": "less than 1 million images", "1.3.e": "no", "2.1.c": "LAION-5B\nCOCO", "3.1.a": True,
    })
    summary = eu_summary(version=world.version)
    jsonschema.validate(summary, SCHEMA)
    assert summary["fields"]["2.1.c"]["value"] == ["LAION-5B", "COCO"]
    assert summary["fields"]["1.3.e"]["value"] is False and summary["fields"]["3.1.a"]["value"] is True


def test_the_record_fields_equal_the_records_and_say_so(world):
    summary = eu_summary(version=world.version)
    fields = summary["fields"]

    sources = {field_id: entry["source"] for field_id, entry in fields.items()}
    assert {f for f, source in sources.items() if source == "records"} == set(template.RECORD_FIELDS)
    assert fields["1.2.a"]["value"] == ["Street Segmenter 1.0"]
    assert fields["2.2.1.a"]["value"] is True
    assert fields["2.2.1.b"]["value"] == ["image"]  # the videos were left out
    licensor = settings.LICENSOR_NAME
    assert fields["2.2.1.b"]["detail"].startswith(
        f"licensed from {licensor} under licence {world.licence.pk} (research phase): 6 images and 0 videos")
    assert "2 delivered works whose contributors opted out before this version's training were left out" in \
        fields["3.1.b"]["value"]
    assert "W3C TDMRep" in fields["3.1.b"]["value"]
    (licence,) = summary["licensor_statement"]["licences"]
    assert licence["licence"] == world.licence.pk and licence["phase"] == "research"
    assert licence["kinds"] == {"image": 6, "video": 0} and licence["contributors"] == 1
    assert licence["left_out_opted_out_before_training"] == 2
    assert licence["collection_period"]["to"] == f"{world.slice.finished_at:%m/%Y}"
    assert summary["licensor_statement"]["totals"]["image_size_bin"] == "less than 1 million images"
    assert all(fields[f]["value"] is None for f in template.PROVIDER_FIELDS)


def test_a_withdrawal_after_training_is_counted_in_3_1(world):
    model_version_release(version=world.version, by=world.owner)
    contributor_set_opt_out(contributor=world.ann, opted_out=True)

    measures = eu_summary(version=world.version)["fields"]["3.1.b"]["value"]

    assert "After delivery, 6 works used in training were withdrawn" in measures


def test_record_fields_cannot_be_answered_and_wrong_answers_are_named(world):
    with pytest.raises(ModelRefused) as refusal:
        eu_summary_answer(version=world.version, by=world.owner,
                          answers={"2.2.1.a": False, "1.3.a": ["smell"], "9.9": "x"})

    assert set(refusal.value.fields) == {"2.2.1.a", "1.3.a", "9.9"}
    assert "Filled from the licensor's records" in refusal.value.fields["2.2.1.a"][0]
    world.version.refresh_from_db()
    assert world.version.eu_summary_answers == {}


def test_the_provider_answers_in_the_web_form_and_exports_json_and_pdf(client_for, world):
    client = client_for(world.owner)
    url = f"/ai-models/{world.model.pk}/versions/{world.version.pk}/eu-summary/"
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="field-2.2.1.a" data-source="records"' in text
    assert 'name="1.1.a"' in text and 'name="2.2.1.a"' not in text
    # Our share of the corpus is offered as a starting answer, not given as the provider's.
    assert "Suggested from the licensor's records" in html.unescape(text)
    assert '<option value="less than 1 million images" selected>' in text

    response = client.post(url, {"0.a": "v1", "1.1.a": "Acme Vision Ltd, London", "1.3.a": ["image"],
                                 "1.3.e": "yes", "2.1.a": "no", "2.2.1.a": "no"})
    assert response.status_code == 302
    exported = client.get(url.replace("eu-summary/", "eu-summary.json"))
    assert exported.status_code == 200
    summary = exported.json()
    jsonschema.validate(summary, SCHEMA)
    assert summary["fields"]["1.1.a"] == {**summary["fields"]["1.1.a"], "value": "Acme Vision Ltd, London",
                                          "source": "provider"}
    assert summary["fields"]["1.3.e"]["value"] is True and summary["fields"]["2.1.a"]["value"] is False
    assert summary["fields"]["2.2.1.a"]["value"] is True  # the records', not the posted "no"

    pdf = client.get(url.replace("eu-summary/", "eu-summary.pdf"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Street Segmenter 1.0" in text and "Acme Vision Ltd, London" in text
    assert "2.2.1 Datasets commercially licensed" in " ".join(text.split())
