"""Slice manifests: JSONL, CSV and Croissant, as a licensee's training pipeline reads them."""

import csv
import datetime
import hashlib
import io
import json
import subprocess
import sys
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from licensing.manifests import (
    COLUMNS,
    ManifestItem,
    SliceManifestMeta,
    croissant_chunks,
    csv_lines,
    jsonl_lines,
    manifest_sha256,
)

UTC = datetime.timezone.utc
WITHDRAWN_AT = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
TRICKY_TITLES = [
    'Harbour at dawn, "blue hour"',
    "Two lines:\nfirst\r\nsecond",
    "Café, naïve — 東京",
    "",
]


def make_item(asset_id, **overrides):
    is_video = asset_id % 2 == 0
    values = {
        "asset_id": asset_id,
        "kind": "video" if is_video else "image",
        "title": f"Work {asset_id}",
        "mime_type": "video/mp4" if is_video else "image/jpeg",
        "bytes": 10_000 + asset_id,
        "sha256": hashlib.sha256(f"asset {asset_id}".encode()).hexdigest(),
        "width": 1920,
        "height": 1080,
        "duration_seconds": 12.5 if is_video else None,
        "contributor_ref": f"contributor-{asset_id % 7}",
        "download_url": f"https://media.example/d/{asset_id}?licence=3&expires=1790000000&sig=ab{asset_id}",
        "withdrawn_at": None,
    }
    values.update(overrides)
    return ManifestItem(**values)


@pytest.fixture
def items():
    """Four works of a small slice: tricky titles, an image and a video, one withdrawn."""
    return [
        make_item(101, title=TRICKY_TITLES[0]),
        make_item(102, title=TRICKY_TITLES[1]),
        make_item(103, title=TRICKY_TITLES[2], withdrawn_at=WITHDRAWN_AT,
                  withdrawal_reason="Taken down: Court order 2026/114."),
        make_item(104, title=TRICKY_TITLES[3]),
    ]


def make_meta(csv_url="https://tessera.example/api/v1/slices/7/manifest.csv?sig=x", **overrides):
    values = {
        "name": "Acme Vision research slice 7",
        "description": "Landscape photographs and short clips for a research licence.",
        "slice_url": "https://tessera.example/slices/7",
        "licence_url": "https://tessera.example/licences/3/terms",
        "licence_id": "R-2026-0003",
        "licensee_name": "Acme Vision",
        "licensor_name": "Northlight Stock",
        "selection": "kind = image or video; at least 1920x1080; videos of 5 to 60 seconds; seed 42",
        "created_at": datetime.datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
        "csv_url": csv_url,
    }
    values.update(overrides)
    return SliceManifestMeta(**values)


def croissant_document(meta, items):
    return json.loads("".join(croissant_chunks(meta, items)))


# JSONL


def test_each_jsonl_line_is_one_object_with_every_field(items):
    lines = list(jsonl_lines(items))

    assert len(lines) == 4
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    first = json.loads(lines[0])
    assert list(first) == list(COLUMNS)
    assert first == {
        "asset_id": 101,
        "kind": "image",
        "title": 'Harbour at dawn, "blue hour"',
        "mime_type": "image/jpeg",
        "bytes": 10_101,
        "sha256": items[0].sha256,
        "width": 1920,
        "height": 1080,
        "duration_seconds": None,
        "contributor_ref": "contributor-3",
        "download_url": items[0].download_url,
        "withdrawn": False,
        "withdrawn_at": None,
        "withdrawal_reason": None,
    }
    assert json.loads(lines[1])["duration_seconds"] == 12.5


def test_jsonl_marks_withdrawn_items_when_and_why(items):
    objects = [json.loads(line) for line in jsonl_lines(items)]

    assert [o["withdrawn"] for o in objects] == [False, False, True, False]
    assert objects[2]["withdrawn_at"] == "2026-03-04T05:06:07.000000+00:00"
    assert [o["withdrawal_reason"] for o in objects] == [None, None, "Taken down: Court order 2026/114.", None]
    assert [o["title"] for o in objects] == TRICKY_TITLES


# CSV


def test_csv_is_a_header_then_one_row_per_item(items):
    rows = list(csv.DictReader(io.StringIO("".join(csv_lines(items)), newline="")))

    assert len(rows) == 4
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["asset_id"] == "101"
    assert rows[0]["sha256"] == items[0].sha256
    assert rows[0]["duration_seconds"] == ""
    assert rows[1]["duration_seconds"] == "12.5"
    assert rows[3]["download_url"] == items[3].download_url


def test_csv_titles_with_commas_quotes_and_newlines_survive(items):
    rows = list(csv.DictReader(io.StringIO("".join(csv_lines(items)), newline="")))

    assert [row["title"] for row in rows] == TRICKY_TITLES


def test_csv_marks_withdrawn_items_when_and_why(items):
    rows = list(csv.DictReader(io.StringIO("".join(csv_lines(items)), newline="")))

    assert [row["withdrawn"] for row in rows] == ["false", "false", "true", "false"]
    assert [row["withdrawn_at"] for row in rows] == ["", "", "2026-03-04T05:06:07.000000+00:00", ""]
    assert [row["withdrawal_reason"] for row in rows] == ["", "", "Taken down: Court order 2026/114.", ""]


def test_an_empty_slice_still_has_its_csv_header():
    assert list(csv_lines(iter([]))) == [",".join(COLUMNS) + "\r\n"]
    assert list(jsonl_lines(iter([]))) == []


# Streaming


def generated_items(count):
    for asset_id in range(1, count + 1):
        yield make_item(asset_id, withdrawn_at=WITHDRAWN_AT if asset_id % 100 == 0 else None)


def test_writers_read_items_only_as_chunks_are_asked_for():
    taken = []

    def watched(count):
        for item in generated_items(count):
            taken.append(item.asset_id)
            yield item

    chunks = jsonl_lines(watched(1000))
    next(chunks)
    assert taken == [1]

    taken.clear()
    chunks = csv_lines(watched(1000))
    next(chunks)  # the header
    next(chunks)
    assert taken == [1]

    taken.clear()
    chunks = croissant_chunks(make_meta(), watched(1000))
    while not taken:
        next(chunks)
    assert taken == [1]


def peak_memory_while_consuming(chunks):
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    written = 0
    for chunk in chunks:
        written += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    return peak - start, written


@pytest.mark.parametrize(
    "write",
    [jsonl_lines, csv_lines, lambda items: croissant_chunks(make_meta(), items)],
    ids=["jsonl", "csv", "croissant"],
)
def test_memory_stays_flat_as_the_slice_grows(write):
    # Warm up lazily built module state (mimetypes' tables, json's encoder) outside the count.
    for _ in write(generated_items(10)):
        pass
    tracemalloc.start()
    try:
        peak_10k, written_10k = peak_memory_while_consuming(write(generated_items(10_000)))
        peak_100k, written_100k = peak_memory_while_consuming(write(generated_items(100_000)))
    finally:
        tracemalloc.stop()

    assert written_100k > 9 * written_10k > 1_000_000
    # The csv module's writer allocates a 128 KiB record buffer once; everything else is
    # a row or two.
    assert peak_100k < 256 * 1024, f"peak {peak_100k} B while writing {written_100k} characters"
    assert peak_100k < 2 * peak_10k + 8 * 1024, f"peaks {peak_10k} B at 10k items, {peak_100k} B at 100k"


# Croissant


def test_croissant_is_valid_json_when_joined_from_its_chunks(items):
    chunks = list(croissant_chunks(make_meta(), iter(items)))

    assert len(chunks) > len(items)
    document = json.loads("".join(chunks))
    assert document["@type"] == "sc:Dataset"


def test_croissant_describes_the_slice_and_its_licence(items):
    document = croissant_document(make_meta(), items)

    assert document["@context"]["@vocab"] == "https://schema.org/"
    assert document["@context"]["cr"] == "http://mlcommons.org/croissant/"
    assert document["@context"]["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert document["conformsTo"] == ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"]
    assert document["sdVersion"] == "2"
    assert document["name"] == "Acme Vision research slice 7"
    assert document["url"] == "https://tessera.example/slices/7"
    assert document["license"] == "https://tessera.example/licences/3/terms"
    assert document["creator"]["name"] == "Northlight Stock"
    assert document["datePublished"] == "2026-02-01T09:30:00.000000+00:00"
    assert document["isLiveDataset"] is True


def test_croissant_says_contributors_opted_in_and_how_the_slice_was_selected(items):
    document = croissant_document(make_meta(), items)

    collection = document["rai:dataCollection"]
    assert "opted in to AI training" in collection
    assert "opted out were excluded" in collection
    assert "withdrawn" in collection
    assert "seed 42" in collection
    assert any("seed 42" in step for step in document["rai:dataPreprocessingProtocol"])
    assert any("R-2026-0003" in use and "Acme Vision" in use for use in document["rai:dataUseCases"])
    assert document["rai:personalSensitiveInformation"]
    assert "410 Gone" in document["rai:dataReleaseMaintenancePlan"]


def test_croissant_lists_every_file_and_the_csv_manifest(items):
    document = croissant_document(make_meta(), items)

    manifest, *files = document["distribution"]
    assert manifest["@type"] == "cr:FileObject"
    assert manifest["contentUrl"] == "https://tessera.example/api/v1/slices/7/manifest.csv?sig=x"
    assert manifest["encodingFormat"] == "text/csv"
    assert "sha256" not in manifest
    assert [f["@id"] for f in files] == ["asset-101", "asset-102", "asset-103", "asset-104"]
    assert files[0] == {
        "@type": "cr:FileObject",
        "@id": "asset-101",
        "name": "asset-101.jpg",
        "description": TRICKY_TITLES[0],
        "contentUrl": items[0].download_url,
        "contentSize": "10101 B",
        "encodingFormat": "image/jpeg",
        "sha256": items[0].sha256,
    }
    assert files[1]["name"] == "asset-102.mp4"


def test_croissant_marks_withdrawn_files(items):
    files = croissant_document(make_meta(), items)["distribution"][1:]

    assert [f.get("creativeWorkStatus") for f in files] == [None, None, "Withdrawn", None]
    assert files[2]["expires"] == "2026-03-04T05:06:07.000000+00:00"


def test_croissant_record_set_reads_every_csv_column(items):
    (record_set,) = croissant_document(make_meta(), items)["recordSet"]

    assert record_set["@type"] == "cr:RecordSet"
    assert [f["source"]["extract"]["column"] for f in record_set["field"]] == list(COLUMNS)
    assert {f["source"]["fileObject"]["@id"] for f in record_set["field"]} == {"manifest.csv"}


def test_croissant_carries_a_pinned_csv_hash(items):
    digest = manifest_sha256(csv_lines(items))
    manifest = croissant_document(make_meta(csv_sha256=digest), items)["distribution"][0]

    assert manifest["sha256"] == digest == hashlib.sha256("".join(csv_lines(items)).encode()).hexdigest()


def test_croissant_1_1_carries_the_rai_fields_mlcroissant_reads_back(items):
    import mlcroissant

    document = croissant_document(make_meta(), items)
    metadata = mlcroissant.Dataset(jsonld=document).metadata

    assert document["conformsTo"][0] == "http://mlcommons.org/croissant/1.1"
    assert metadata.data_collection_timeframe == [datetime.datetime(2026, 2, 1, 9, 30, tzinfo=UTC)]
    assert any("not representative" in limitation for limitation in metadata.data_limitations)
    assert any("Training, fine-tuning, validation and testing" in use for use in metadata.data_use_cases)
    assert "stable reference" in metadata.personal_sensitive_information[0]
    assert "Maintained by Northlight Stock" in metadata.data_release_maintenance_plan
    assert metadata.data_biases and metadata.data_social_impact


def mlcroissant_executable():
    return Path(sys.executable).with_name("mlcroissant")


def test_croissant_passes_mlcroissant_validate(items, tmp_path):
    path = tmp_path / "croissant.json"
    with path.open("w", encoding="utf-8") as file:
        for chunk in croissant_chunks(make_meta(), iter(items)):
            file.write(chunk)

    result = subprocess.run(
        [str(mlcroissant_executable()), "validate", "--jsonld", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Done." in output
    assert "error" not in output.lower()
    assert "warning" not in output.lower()


# Reading the records back with mlcroissant, from a live server on the loopback interface


class ManifestServer:
    """Serves csv_lines() of a slice at one path, streamed, like the manifest endpoint."""

    path = "/api/v1/slices/7/manifest.csv"

    def __init__(self):
        self.items = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                if self.path != server.path:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv; charset=utf-8")
                self.end_headers()
                for chunk in csv_lines(iter(server.items)):
                    self.wfile.write(chunk.encode("utf-8"))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{self.path}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def manifest_server(monkeypatch, tmp_path):
    from mlcroissant._src.core import constants as croissant_constants

    # mlcroissant caches every download in the user's home, keyed by URL: keep each test's own.
    monkeypatch.setattr(croissant_constants, "DOWNLOAD_PATH", croissant_constants.epath.Path(tmp_path / "download"))
    monkeypatch.setattr(croissant_constants, "EXTRACT_PATH", croissant_constants.epath.Path(tmp_path / "extract"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with ManifestServer() as server:
        yield server


def read_records(meta, items):
    import mlcroissant

    dataset = mlcroissant.Dataset(jsonld=croissant_document(meta, iter(items)))
    return list(dataset.records(record_set="items"))


def test_mlcroissant_iterates_the_items_from_the_live_csv(items, manifest_server):
    manifest_server.items = items

    records = read_records(make_meta(csv_url=manifest_server.url), items)

    assert manifest_server.requests == 1
    assert [r["items/asset_id"] for r in records] == [101, 102, 103, 104]
    assert [r["items/sha256"].decode() for r in records] == [item.sha256 for item in items]
    # pandas, which mlcroissant reads CSV with, takes an empty cell for a missing value.
    assert [r["items/title"] for r in records] == [title.encode() or None for title in TRICKY_TITLES]
    assert [bool(r["items/withdrawn"]) for r in records] == [False, False, True, False]
    assert [r["items/download_url"].decode() for r in records] == [item.download_url for item in items]


def test_mlcroissant_accepts_a_pinned_csv_hash_that_matches(items, manifest_server):
    manifest_server.items = items
    meta = make_meta(csv_url=manifest_server.url, csv_sha256=manifest_sha256(csv_lines(items)))

    records = read_records(meta, items)

    assert [r["items/asset_id"] for r in records] == [101, 102, 103, 104]


def test_mlcroissant_refuses_a_csv_that_changed_since_its_hash_was_pinned(items, manifest_server):
    pinned = manifest_sha256(csv_lines(items))
    manifest_server.items = [*items[:3], make_item(104, withdrawn_at=WITHDRAWN_AT)]
    meta = make_meta(csv_url=manifest_server.url, csv_sha256=pinned)

    with pytest.raises(Exception) as raised:
        read_records(meta, items)

    causes = []
    error = raised.value
    while error is not None:
        causes.append(str(error))
        error = error.__cause__ or error.__context__
    assert any("Hash of downloaded file" in cause for cause in causes), causes
