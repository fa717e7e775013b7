"""docs/client_example.py, run as a pipeline would run it, against a live server: it requests a slice,
waits for the build, streams the JSONL manifest and checks the sha256 of the files it downloads."""
import hashlib
import subprocess
import sys

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.api_keys import api_key_create
from licensing.models import AuditEvent, Licence, Slice
from tests.conftest import BASE_DIR
from tests.licensing.factories import AssetFactory, ContributorFactory, research_licence

CLIENT = BASE_DIR / "docs" / "client_example.py"


def stored_asset(contributor, n):
    """An image asset with a real file behind it, its size and checksum the file's own."""
    data = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(f"pixels {n}".encode()).digest() * (40 + n)
    key = default_storage.save(f"assets/test/{n}.png", ContentFile(data))
    return AssetFactory(contributor=contributor, kind="image", mime_type="image/png", storage_key=key,
                        bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), title=f"Frame {n}")


def test_the_client_example_fetches_and_verifies_a_slice(live_server, settings, org_a, alice):
    settings.SITE_URL = live_server.url
    contributor = ContributorFactory()
    assets = [stored_asset(contributor, n) for n in range(6)]
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=10, max_slices=2,
                               max_bytes=sum(asset.bytes for asset in assets))
    key, plaintext = api_key_create(organisation=org_a, by=alice, name="example pipeline",
                                    scopes=["licences:read", "slices:read", "slices:write"], expires_days=1)

    result = subprocess.run(
        [sys.executable, str(CLIENT), "--base-url", live_server.url, "--key", plaintext,
         "--licence", str(licence.pk), "--size", "4", "--timeout", "30"],
        capture_output=True, text=True, timeout=90, cwd=BASE_DIR,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    slice_ = Slice.objects.get(licence=licence)
    assert slice_.status == "ready"
    assert slice_.asset_count == 4
    lines = result.stdout.splitlines()
    assert lines[0] == f"slice {slice_.pk} requested (202): queued"
    assert f"slice {slice_.pk} ready: 4 assets, {slice_.total_bytes} bytes" in lines
    verified = [line for line in lines if line.endswith(": sha256 verified")]
    assert len(verified) == 3
    granted = set(slice_.items.values_list("asset_id", flat=True))
    assert {int(line.split()[1].rstrip(":")) for line in verified} <= granted
    assert lines[-1] == "manifest streamed: 4 items, 3 files verified"

    licence.refresh_from_db()
    assert (licence.used_assets, licence.used_slices, licence.used_bytes) == (4, 1, slice_.total_bytes)
    event = AuditEvent.objects.get(action="slice.request")
    assert (event.api_key, event.actor, event.target_id) == (key, None, str(slice_.pk))
    assert Licence.objects.count() == 1


def test_the_client_example_says_why_a_slice_is_refused(live_server, settings, org_a, alice):
    settings.SITE_URL = live_server.url
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=2)
    _, plaintext = api_key_create(organisation=org_a, by=alice, name="example pipeline",
                                  scopes=["slices:read", "slices:write"])

    result = subprocess.run(
        [sys.executable, str(CLIENT), "--base-url", live_server.url, "--key", plaintext,
         "--licence", str(licence.pk), "--size", "5"],
        capture_output=True, text=True, timeout=60, cwd=BASE_DIR,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"POST /api/v1/licences/{licence.pk}/slices/ answered 422: "
        "You asked for 5 assets but only 2 remain under this licence's cap of 2.")
    assert not Slice.objects.filter(licence=licence).exists()
