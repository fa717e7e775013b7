#!/usr/bin/env python
"""One worker's job, for its peak memory: request and build a slice, then write its JSONL manifest.

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
    from bench.licensees import applicant, requested_slice
    from licensing import downloads
    from licensing.manifests import jsonl_lines
    from licensing.selectors.slices import manifest_items
    from licensing.services.slices import slice_build

    slice_ = requested_slice(applicant(), size=args.size, seed=args.seed)
    built = slice_build(slice_id=slice_.pk)
    if built is None or built.asset_count != args.size:
        raise SystemExit(f"Slice {slice_.pk} was not built with {args.size} items.")
    prefix = downloads.asset_url_prefix(downloads.slice_token(built))
    lines = size = 0
    for line in jsonl_lines(manifest_items(built, url_prefix=prefix)):
        lines += 1
        size += len(line)
    if lines != args.size:
        raise SystemExit(f"The manifest has {lines} lines for {args.size} items.")
    print(json.dumps({"items": lines, "manifest_chars": size, "vm_hwm_kb": peak_rss_kb()}))


if __name__ == "__main__":
    main()
