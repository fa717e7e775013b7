"""The JSONL manifest PostgreSQL builds says exactly what the Python writer says."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.manifests import csv_header, csv_lines, jsonl_lines
from licensing.models import Asset, Contributor, SliceItem
from licensing.services.catalogue import catalogue_take_down
from licensing.selectors.slices import manifest_csv_from_database, manifest_items, manifest_jsonl_from_database
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import LicenceFactory

pytestmark = pytest.mark.django_db

TITLES = ['Ünïcode "quoted", C:\\data\\{n}\\ tab\t new\nline {n}', "plain {n}", "carriage\rreturn {n}",
          "comma, only {n}", "control \x01 and \x02 {n}", ""]
DURATIONS = [2.5, None, 3.0, 0.1 + 0.2]


def parsed(chunks):
    text = "".join(chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks)
    return [json.loads(line) for line in text.splitlines() if line]


def test_both_writers_give_the_same_objects_in_the_same_order(org_a, alice, monkeypatch):
    monkeypatch.setattr("licensing.tasks.build_slice.delay", lambda slice_id: None)
    quitter = Contributor.objects.create(display_name="Quitter")
    stayer = Contributor.objects.create(display_name="Stayer")
    for n in range(12):
        Asset.objects.create(contributor=quitter if n % 3 == 0 else stayer, kind="video" if n % 4 == 0 else "image",
                             title=TITLES[n % len(TITLES)].format(n=n), tags=["x"], width=640, height=480,
                             duration_seconds=DURATIONS[n % 4], bytes=1000 + n, mime_type="image/jpeg",
                             sha256=f"{n:064x}", storage_key=f"k/{n}")
    licence = LicenceFactory(organisation=org_a, applicant=alice, state="research_active", phase="research",
                             max_assets=100, max_bytes=10**9, max_slices=3,
                             research_ends_at=timezone.now() + timedelta(days=9))
    slice_ = slice_request(licence=licence, by=alice, size=12, seed=11)
    slice_build(slice_id=slice_.pk)
    contributor_set_opt_out(contributor=quitter, opted_out=True)
    taken = Asset.objects.filter(contributor=stayer).order_by("pk")[:2]
    catalogue_take_down(asset=taken[0], by=None, reason='Court order "2026/7", ünïcode')
    # A row withdrawn before reasons were recorded reads as the opt-out it was.
    SliceItem.objects.filter(slice=slice_, asset=taken[1]).update(withdrawn_at=timezone.now(), withdrawal_reason="")

    prefix = "https://tessera.example/dl/token/assets/"
    from_python = parsed(jsonl_lines(manifest_items(slice_, url_prefix=prefix)))
    from_database = parsed(manifest_jsonl_from_database(slice_, url_prefix=prefix))
    assert len(from_python) == 12
    assert from_database == from_python
    assert sum(row["withdrawn"] for row in from_database) == 6
    reasons = {row["asset_id"]: row["withdrawal_reason"] for row in from_database}
    assert reasons[taken[0].pk] == 'Taken down: Court order "2026/7", ünïcode'
    assert reasons[taken[1].pk] == "opt_out"
    assert sorted(r for r in reasons.values() if r is not None) == sorted(
        ["opt_out"] * 5 + ['Taken down: Court order "2026/7", ünïcode'])
    # Byte for byte, timestamps included: PostgreSQL's own JSON drops trailing zeros of
    # the microseconds, which a licensee diffing two manifests would see as a change.
    assert all(len(row["withdrawn_at"]) == len("2026-01-01T00:00:00.000000+00:00")
               for row in from_database if row["withdrawn"])


def test_the_csv_postgresql_builds_is_the_python_writer_s_byte_for_byte(org_a, alice, monkeypatch, adam):
    monkeypatch.setattr("licensing.tasks.build_slice.delay", lambda slice_id: None)
    contributor = Contributor.objects.create(display_name="Someone")
    for n in range(12):
        Asset.objects.create(contributor=contributor, kind="video" if n % 2 else "image", tags=["x"], width=640,
                             height=480, title=TITLES[n % len(TITLES)].format(n=n), duration_seconds=DURATIONS[n % 4],
                             bytes=1000 + n, mime_type="image/jpeg", sha256=f"{n:064x}", storage_key=f"k/{n}")
    licence = LicenceFactory(organisation=org_a, applicant=alice, state="research_active", phase="research",
                             max_assets=100, max_bytes=10**9, max_slices=3,
                             research_ends_at=timezone.now() + timedelta(days=9))
    slice_ = slice_request(licence=licence, by=alice, size=12, seed=3)
    slice_build(slice_id=slice_.pk)
    taken = Asset.objects.order_by("pk")[:2]
    catalogue_take_down(asset=taken[0], by=adam, reason='A "quoted", reason\nover two lines')
    SliceItem.objects.filter(slice=slice_, asset=taken[1]).update(withdrawn_at=timezone.now(), withdrawal_reason="")

    prefix = "https://tessera.example/dl/abc:def/assets/"
    from_python = "".join(csv_lines(manifest_items(slice_, url_prefix=prefix))).encode()
    from_database = csv_header().encode() + b"".join(manifest_csv_from_database(slice_, url_prefix=prefix))
    assert from_database == from_python
    # What the SQL has to get right: floats as Python writes them, quoting, and the withdrawal cells.
    for cell in (b",3.0,", b",0.30000000000000004,", b',"comma, only ', b',"carriage\rreturn ',
                 b',"Taken down: A ""quoted"", reason\nover two lines"\r\n', b",true,", b",opt_out\r\n"):
        assert cell in from_python
    # A prefix that would need quoting (never one of ours) leaves the work to the Python writer.
    assert manifest_csv_from_database(slice_, url_prefix="https://x/a,b/") is None
