"""pull and sync_withdrawals against a fake server (httpx.MockTransport): resume with Range, checksums,
a rewritten shard, withdrawals deleting files and shards."""
import hashlib
import io
import json
import re
import tarfile

import httpx
import pytest

from tessera_client import Tessera, TesseraError


def tar_of(*keys):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for key in keys:
            for name, data in ((f"{key}.jpg", f"pixels {key}".encode() * 500), (f"{key}.json", b"{}")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeTessera:
    def __init__(self):
        self.files = {"shard-000000.tar": tar_of(11, 12), "shard-000001.tar": tar_of(13)}
        self.ranges = []
        self.withdrawn = []

    def index(self):
        return {"state": "ready", "left_out": {"without_file": 0, "missing_file": 0, "withdrawn": 0},
                "shards": [{"name": name, "url": f"http://files/{name}", "sha256": hashlib.sha256(data).hexdigest(),
                            "bytes": len(data)} for name, data in self.files.items()]}

    def __call__(self, request):
        path = request.url.path
        if path == "/api/v1/slices/5/shards/":
            return httpx.Response(200, json=self.index())
        if path == "/api/v1/licences/2/withdrawals/":
            seen = int(request.url.params.get("cursor", 0))
            rows = self.withdrawn[seen:]
            return httpx.Response(200, json={"results": rows, "has_more": False,
                                             "next": f"http://api/api/v1/licences/2/withdrawals/?cursor={seen + len(rows)}"})
        if request.url.host == "files":
            data = self.files[path.strip("/")]
            wanted = request.headers.get("Range")
            if wanted:
                self.ranges.append(wanted)
                start = int(re.match(r"bytes=(\d+)-", wanted).group(1))
                if start >= len(data):
                    return httpx.Response(416)
                return httpx.Response(206, content=data[start:])
            return httpx.Response(200, content=data)
        return httpx.Response(404, json={"error": {"code": "not_found", "message": path, "fields": {}}})


@pytest.fixture
def server():
    return FakeTessera()


@pytest.fixture
def client(server):
    return Tessera("http://api", "tsk_x_y", transport=httpx.MockTransport(server))


def test_it_pulls_every_shard_and_verifies_it(client, server, tmp_path):
    report = client.pull(5, tmp_path, progress=False)

    assert sorted(report.downloaded) == ["shard-000000.tar", "shard-000001.tar"]
    assert (tmp_path / "shard-000000.tar").read_bytes() == server.files["shard-000000.tar"]
    assert client.pull(5, tmp_path, progress=False).skipped == ["shard-000000.tar", "shard-000001.tar"]


def test_it_resumes_a_partial_download_with_a_range_request(client, server, tmp_path):
    data = server.files["shard-000000.tar"]
    (tmp_path / "shard-000000.tar.part").write_bytes(data[:3000])

    report = client.pull(5, tmp_path, progress=False, workers=1)

    assert report.resumed == ["shard-000000.tar"]
    assert server.ranges == ["bytes=3000-"]
    assert (tmp_path / "shard-000000.tar").read_bytes() == data


def test_it_starts_again_when_the_partial_copy_is_of_other_bytes(client, server, tmp_path):
    (tmp_path / "shard-000001.tar.part").write_bytes(b"x" * 100)

    client.pull(5, tmp_path, progress=False, workers=1)

    assert (tmp_path / "shard-000001.tar").read_bytes() == server.files["shard-000001.tar"]


def test_a_download_that_never_matches_its_sha256_is_an_error(client, server, tmp_path, monkeypatch):
    monkeypatch.setattr(server, "index", lambda: {"state": "ready", "left_out": {}, "shards": [
        {"name": "shard-000000.tar", "url": "http://files/shard-000000.tar", "sha256": "0" * 64, "bytes": 10}]})

    with pytest.raises(TesseraError, match="do not match"):
        client.pull(5, tmp_path, progress=False)
    assert not (tmp_path / "shard-000000.tar").exists()


def test_sync_deletes_withdrawn_items_and_the_shards_holding_them(client, server, tmp_path):
    client.pull(5, tmp_path / "slice-5", progress=False)
    (tmp_path / "items").mkdir()
    (tmp_path / "items" / "13.jpg").write_bytes(b"x")
    (tmp_path / "items" / "14.jpg").write_bytes(b"x")
    server.withdrawn = [{"asset_id": 13, "slice": 5, "withdrawn_at": "2026-12-01T10:00:00Z", "reason": "opt_out"}]

    report = client.sync_withdrawals(2, tmp_path)

    assert report.withdrawn == [13]
    assert sorted(report.deleted) == ["items/13.jpg", "slice-5/shard-000001.tar"]
    assert (tmp_path / "slice-5" / "shard-000000.tar").exists() and (tmp_path / "items" / "14.jpg").exists()
    assert json.loads((tmp_path / ".tessera-withdrawals-2.json").read_text())["next"].endswith("cursor=1")
    assert client.sync_withdrawals(2, tmp_path).withdrawn == []
