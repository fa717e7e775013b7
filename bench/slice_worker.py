#!/usr/bin/env python
"""One worker's jobs, for their peak memory: request and build a slice, then write its manifests (the delivery
job's slice_manifests_write: JSONL and CSV to storage).

Run by bench/slices.py in a fresh process per measurement, with the bench environment:
    slice_worker.py --size 100000 --seed 7
Prints one JSON line: {"items": …, "manifest_chars": …, "vm_hwm_kb": …}.
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the project, not bench/


def peak_rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("No VmHWM in /proc/self/status")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from bench.licensees import applicant, requested_slice
    from licensing.services.delivery import slice_manifests_write
    from licensing.services.slices import slice_build

    slice_ = requested_slice(applicant(), size=args.size, seed=args.seed)
    built = slice_build(slice_id=slice_.pk)
    if built is None or built.asset_count != args.size:
        raise SystemExit(f"Slice {slice_.pk} was not built with {args.size} items.")
    manifest = slice_manifests_write(slice_id=built.pk)
    with default_storage.open(manifest.jsonl_key, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    size = manifest.jsonl_bytes
    if lines != args.size:
        raise SystemExit(f"The manifest has {lines} lines for {args.size} items.")
    print(json.dumps({"items": lines, "manifest_chars": size, "vm_hwm_kb": peak_rss_kb()}))


if __name__ == "__main__":
    main()
