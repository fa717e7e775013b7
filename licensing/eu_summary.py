"""The EU AI Act public summary of training content (Art. 53(1)(d), the Commission's template):
its fields, and a summary drafted from Tessera's records and the provider's answers.

`eu_summary_fields.json` is the fact sheet's list of every field of the template, kept
beside this module as it was published to the project (a test holds the two to that).
Tessera is the licensor, not the provider: it fills only what its records know (the
licensed-data section 2.2.1 and the reservations of rights in 3.1, the version's name
and the date of its last change), marks each of those `"source": "records"`, and
leaves every other field to the provider, who answers it in a form.
"""
import json
from pathlib import Path

FIELDS = json.loads(Path(__file__).with_name("eu_summary_fields.json").read_text(encoding="utf-8"))
FIELDS_BY_ID = {field["id"]: field for field in FIELDS}

TEMPLATE = {
    "title": "Public Summary of Training Content for general-purpose AI models",
    "legal_basis": "Regulation (EU) 2024/1689 (AI Act), Article 53(1)(d)",
    "reference": "Communication from the Commission C(2025) 8311 final (template of 24 July 2025)",
}

# The fields a licensor's records answer for one model version.
RECORD_FIELDS = ("0.b", "1.2.a", "2.2.1.a", "2.2.1.b", "3.1.b")
PROVIDER_FIELDS = tuple(field["id"] for field in FIELDS if field["id"] not in RECORD_FIELDS)

MODALITIES = ("text", "image", "audio", "video", "other")

# The template's size bins for the two modalities a catalogue of images and videos has.
IMAGE_BINS = ((1_000_000, "less than 1 million images"), (1_000_000_000, "1 million to 1 billion images"),
              (None, "more than 1 billion images"))
VIDEO_BINS = ((10_000, "less than 10,000 hours"), (1_000_000, "10,000 to 1 million hours"),
              (None, "more than 1 million hours"))


def size_bin(amount, bins):
    for limit, label in bins:
        if limit is None or amount < limit:
            return label
    raise AssertionError("the last bin has no limit")


def month_year(moment):
    return f"{moment:%m/%Y}" if moment else None


def clean_answer(field_id, value):
    """A provider's answer as stored: the type its field asks for, or None when unanswered."""
    field = FIELDS_BY_ID[field_id]
    kind, choices = field["answer"], field.get("choices")
    if value in (None, "", []):
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("yes", "true", "1"):
            return True
        if str(value).lower() in ("no", "false", "0"):
            return False
        raise ValueError(f"{field['label']}: answer yes or no.")
    if kind == "list":
        items = value.splitlines() if isinstance(value, str) else list(value)
        items = [str(item).strip() for item in items if str(item).strip()]
        if choices:
            unknown = [item for item in items if item not in choices]
            if unknown:
                raise ValueError(f"{field['label']}: {', '.join(unknown)} is not one of {', '.join(choices)}.")
        return items or None
    if kind == "range":
        if value not in choices:
            raise ValueError(f"{field['label']}: choose one of {'; '.join(choices)}.")
        return value
    return str(value).strip() or None


def build_summary(*, model_name, version_label, provider_name, records, answers):
    """The summary as one JSON object: the template's fields in order, keyed by id, each with its value and
    where the value comes from; then the licensor's statement the record fields were drawn from."""
    fields = {}
    for field in FIELDS:
        entry = {"section": field["section"], "label": field["label"], "answer": field["answer"]}
        if field["id"] in RECORD_FIELDS:
            entry["value"], entry["source"] = records["fields"][field["id"]], "records"
        else:
            entry["value"], entry["source"] = answers.get(field["id"]), "provider"
        if field.get("optional"):
            entry["optional"] = True
        if field["id"] in records.get("details", {}):
            entry["detail"] = records["details"][field["id"]]
        fields[field["id"]] = entry
    return {
        "template": TEMPLATE,
        "provider": provider_name,
        "model": model_name,
        "version": version_label,
        "fields": fields,
        "licensor_statement": records["statement"],
    }
