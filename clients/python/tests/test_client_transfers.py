"""Downloads over real sockets (a loopback HTTP server), the path the client takes when no custom transport
stands in for the network: resume with Range, redirects to another origin followed without the API key,
checksums taken as the bytes arrive, and connections reused when the server keeps them open."""
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import tessera_client.client as client_module
from tessera_client import Tessera, TesseraError

SHARD = bytes(range(256)) * 40_000  # 10 MB: several reads of the client's buffer


class Files(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx or object storage answer
    files: dict = {}
    seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).seen.append({"path": self.path, "range": self.headers.get("Range"),
                                "authorization": self.headers.get("Authorization"),
                                "connection": id(self.connection)})
        if self.path == "/api/v1/slices/5/shards/":
            return self.json({"state": "ready", "left_out": {}, "shards": [
                {"name": name, "url": f"{self.base}/redirect/{name}",
                 "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                for name, data in sorted(self.files.items())]})
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", f"{self.base}/files/{self.path.removeprefix('/redirect/')}?sig=x")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        name = self.path.removeprefix("/files/").split("?")[0]
        if name not in self.files:
            return self.json({"error": {"code": "not_found", "message": name, "fields": {}}}, status=404)
        data = self.files[name]
        start = 0
        if wanted := self.headers.get("Range"):
            start = int(re.match(r"bytes=(\d+)-", wanted).group(1))
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        self.wfile.write(data[start:])
        return None

    def json(self, body, status=200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    handler = type("Handler", (Files,), {"files": {"shard-000000.tar": SHARD, "shard-000001.tar": SHARD[::-1]},
                                         "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.base = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler
    httpd.shutdown()
    httpd.server_close()


def test_shards_come_over_the_socket_verified_through_a_redirect_without_the_key(server, tmp_path):
    with Tessera(server.base, "tsk_secret_key") as client:
        report = client.pull(5, tmp_path, progress=False)

    assert sorted(report.downloaded) == ["shard-000000.tar", "shard-000001.tar"]
    assert (tmp_path / "shard-000000.tar").read_bytes() == SHARD
    assert (tmp_path / "shard-000001.tar").read_bytes() == SHARD[::-1]
    assert report.bytes == 2 * len(SHARD)
    file_requests = [r for r in server.seen if not r["path"].startswith("/api/")]
    assert {r["path"].split("?")[0] for r in file_requests} == {
        "/redirect/shard-000000.tar", "/files/shard-000000.tar", "/redirect/shard-000001.tar", "/files/shard-000001.tar"}
    assert all(r["authorization"] is None for r in file_requests)  # the API key stays with the API


def test_a_keep_alive_server_serves_one_thread_s_files_on_one_connection(server, tmp_path):
    with Tessera(server.base, "tsk_x_y") as client:
        client.pull(5, tmp_path, progress=False, workers=1)

    file_requests = [r for r in server.seen if not r["path"].startswith("/api/")]
    assert len(file_requests) == 4 and len({r["connection"] for r in file_requests}) == 1


def test_a_partial_file_is_resumed_and_checked_as_a_whole(server, tmp_path):
    (tmp_path / "shard-000000.tar.part").write_bytes(SHARD[:3_000_000])
    with Tessera(server.base, "tsk_x_y") as client:
        report = client.pull(5, tmp_path, progress=False)

    assert report.resumed == ["shard-000000.tar"]
    assert (tmp_path / "shard-000000.tar").read_bytes() == SHARD
    assert report.bytes == 2 * len(SHARD) - 3_000_000
    ranged = [(r["path"], r["range"]) for r in server.seen if r["range"]]
    assert ("/files/shard-000000.tar?sig=x", "bytes=3000000-") in ranged
    assert all(path.startswith(("/redirect/shard-000000", "/files/shard-000000")) for path, _ in ranged)


def test_a_foreign_partial_copy_is_fetched_again_and_corrupt_bytes_refused(server, tmp_path, monkeypatch):
    (tmp_path / "shard-000001.tar.part").write_bytes(b"not these bytes" * 1000)
    with Tessera(server.base, "tsk_x_y") as client:
        client.pull(5, tmp_path, progress=False)
    assert (tmp_path / "shard-000001.tar").read_bytes() == SHARD[::-1]

    server.files["shard-000000.tar"] = SHARD[:-1] + b"!"  # what the index's sha256 does not describe
    monkeypatch.setattr(client_module, "CHUNK", 65536)
    index = {"state": "ready", "left_out": {}, "shards": [{"name": "x.tar", "url": f"{server.base}/files/shard-000000.tar",
                                                            "sha256": hashlib.sha256(SHARD).hexdigest(), "bytes": 1}]}
    with Tessera(server.base, "tsk_x_y") as client:
        monkeypatch.setattr(client, "shard_index", lambda slice_id: index)
        with pytest.raises(TesseraError, match="do not match sha256"):
            client.pull(5, tmp_path / "other", progress=False)
    assert not (tmp_path / "other" / "x.tar").exists()


def test_an_error_answer_carries_the_server_s_message(server, tmp_path, monkeypatch):
    index = {"state": "ready", "left_out": {}, "shards": [{"name": "x.tar", "url": f"{server.base}/files/nothing",
                                                            "sha256": "0" * 64, "bytes": 1}]}
    with Tessera(server.base, "tsk_x_y") as client:
        monkeypatch.setattr(client, "shard_index", lambda slice_id: index)
        with pytest.raises(TesseraError) as refused:
            client.pull(5, tmp_path, progress=False)
    assert (refused.value.status, refused.value.code, refused.value.message) == (404, "not_found", "nothing")
