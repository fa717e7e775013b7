#!/usr/bin/env python3
"""Request a slice through the Tessera API, wait for it, stream its manifest and check the first files.

    python docs/client_example.py --base-url https://tessera.example --key tsk_... --licence 42 --size 100

Only the standard library: a training pipeline can copy this as it is.
"""
import argparse
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
import uuid


def call(base_url, key, method, path, body=None, headers=None):
    request = urllib.request.Request(
        base_url.rstrip("/") + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("error", {})
        sys.exit(f"{method} {path} answered {error.code}: {detail.get('message', error.reason)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--licence", type=int, required=True)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--kind", choices=["image", "video"])
    parser.add_argument("--check", type=int, default=3, help="How many of the first files to download and verify.")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)

    request = {"size": args.size, **({"kind": args.kind} if args.kind else {})}
    # The same Idempotency-Key on a retry returns the first answer instead of a second slice.
    status, slice_ = call(args.base_url, args.key, "POST", f"/api/v1/licences/{args.licence}/slices/", request,
                          {"Idempotency-Key": str(uuid.uuid4())})
    print(f"slice {slice_['id']} requested ({status}): {slice_['status']}")

    deadline = time.monotonic() + args.timeout
    while slice_["status"] in ("queued", "building"):
        if time.monotonic() > deadline:
            sys.exit(f"slice {slice_['id']} was not ready within {args.timeout:.0f} s")
        time.sleep(1)
        _, slice_ = call(args.base_url, args.key, "GET", f"/api/v1/slices/{slice_['id']}/")
    if slice_["status"] != "ready":
        sys.exit(f"slice {slice_['id']} failed: {slice_['failure_reason']}")
    print(f"slice {slice_['id']} ready: {slice_['asset_count']} assets, {slice_['total_bytes']} bytes")

    manifest = urllib.request.Request(slice_["links"]["manifest_jsonl"], headers={"Authorization": f"Bearer {args.key}"})
    checked = items = 0
    with urllib.request.urlopen(manifest, timeout=60) as stream:
        for line in stream:
            item = json.loads(line)
            items += 1
            if checked < args.check and not item["withdrawn"]:
                with urllib.request.urlopen(item["download_url"], timeout=60) as download:
                    digest = hashlib.sha256(download.read()).hexdigest()
                if digest != item["sha256"]:
                    sys.exit(f"asset {item['asset_id']}: sha256 {digest} does not match the manifest's {item['sha256']}")
                checked += 1
                print(f"asset {item['asset_id']}: sha256 verified")
    print(f"manifest streamed: {items} items, {checked} files verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
