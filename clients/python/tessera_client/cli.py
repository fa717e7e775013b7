"""`tessera pull` and `tessera withdrawals`: the key from TESSERA_API_KEY, the server from TESSERA_URL."""
from __future__ import annotations

import argparse
import os
import sys

from .client import Tessera, TesseraError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tessera", description="Pull licensed slices from Tessera.")
    commands = parser.add_subparsers(dest="command", required=True)
    pull = commands.add_parser("pull", help="download a slice (WebDataset shards, or --items), resuming")
    pull.add_argument("--licence", type=int, required=True)
    pull.add_argument("--slice", type=int, required=True)
    pull.add_argument("--dest", required=True)
    pull.add_argument("--items", action="store_true", help="one file per item instead of tar shards")
    pull.add_argument("--workers", type=int, default=4)
    pull.add_argument("--no-progress", action="store_true")
    withdrawals = commands.add_parser("withdrawals", help="delete withdrawn items from a local copy")
    withdrawals.add_argument("--licence", type=int, required=True)
    withdrawals.add_argument("--dest", required=True)
    commands.add_parser("licences", help="list your licences")
    args = parser.parse_args(argv)

    key, url = os.environ.get("TESSERA_API_KEY"), os.environ.get("TESSERA_URL")
    if not key or not url:
        print("Set TESSERA_URL (e.g. https://tessera.example) and TESSERA_API_KEY (tsk_…).", file=sys.stderr)
        return 2
    try:
        with Tessera(url, key) as client:
            if args.command == "licences":
                for licence in client.licences():
                    print(f"{licence['id']}\t{licence['state']}\t{licence['project_title']}")
            elif args.command == "pull":
                slice_ = client.slice(args.slice)
                if slice_["licence"] != args.licence:
                    print(f"Slice {args.slice} is not a slice of licence {args.licence}.", file=sys.stderr)
                    return 1
                slice_ = client.wait_for_slice(args.slice)
                report = client.pull(args.slice, args.dest, mode="items" if args.items else "shards",
                                     workers=args.workers, progress=not args.no_progress)
                print(f"slice {args.slice}: {len(report.downloaded)} downloaded, {len(report.resumed)} resumed, "
                      f"{len(report.skipped)} already here; {report.bytes} bytes; every sha256 verified")
            else:
                report = client.sync_withdrawals(args.licence, args.dest)
                print(f"licence {args.licence}: {len(report.withdrawn)} assets withdrawn since the last sync, "
                      f"{len(report.deleted)} files deleted")
                for name in report.deleted:
                    print(f"deleted {name}")
    except (TesseraError, TimeoutError) as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
