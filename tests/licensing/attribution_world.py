"""A commercial licensee whose model version was trained on a slice of three contributors' works,
and a fourth contributor whose works it never saw: shared by the attribution tests."""
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import orjson
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.services.ai_models import ai_model_register, model_version_add, training_declare
from licensing.services.attribution import usage_report_process, usage_report_upload
from tests.licensing.ai_model_world import ready_slice
from tests.licensing.factories import ContributorFactory, catalogue, commercial_licence


def attribution_world(organisation, owner, *, rate=Decimal("0.2000")):
    ann, ben, cat = (ContributorFactory(display_name=name) for name in ("Ann", "Ben", "Cat"))
    for contributor in (ann, ben, cat):
        catalogue(3, contributor=contributor)
    licence = commercial_licence(organisation=organisation, applicant=owner, offer_fee=Decimal("1000.00"),
                                 offer_currency="EUR", offer_term_months=12, offer_scope="A product model",
                                 offer_attribution_rate=rate)
    slice_ = ready_slice(licence, owner, 9)
    dan = ContributorFactory(display_name="Dan")  # in the catalogue after the slice: his works trained nothing
    untrained = catalogue(2, contributor=dan)
    model = ai_model_register(organisation=organisation, by=owner, name="Poster Painter", modality="image",
                              purpose="Paints posters.")
    version = model_version_add(model=model, by=owner, label="1.0")
    training_declare(version=version, by=owner, slice_id=slice_.pk)
    return SimpleNamespace(org=organisation, owner=owner, ann=ann, ben=ben, cat=cat, dan=dan, licence=licence,
                           slice=slice_, model=model, version=version, untrained_assets=untrained)


def jsonl(outputs):
    return b"".join(orjson.dumps(output) + b"\n" for output in outputs)


def output(output_id, revenue, scores, **extra):
    return {"output_id": output_id, "revenue": revenue, "scores": {str(c.pk if hasattr(c, "pk") else c): s
                                                                    for c, s in scores.items()}, **extra}


def upload(world, body, *, reference="2026-Q3", name="report.jsonl", process=True):
    report, created = usage_report_upload(
        version=world.version, upload=SimpleUploadedFile(name, body), reference=reference,
        period_start=date(2026, 7, 1), period_end=date(2026, 9, 30), by=world.owner)
    if process:
        report = usage_report_process(report_id=report.pk)
    return report
