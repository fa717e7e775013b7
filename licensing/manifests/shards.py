"""WebDataset tar shards: a slice's files with their manifest records, in item-position order.

Each item is two members, `<asset_id>.<ext>` (the file as stored) and `<asset_id>.json` (its
manifest record), which WebDataset groups into one sample by the shared key. Headers carry no
owner, a fixed mode and the slice's build time, so the same items make the same bytes, and the
same sha256, however often the shard is written.
"""
import hashlib
import io
import json
import mimetypes
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from .items import COLUMNS, ManifestItem, item_values

# The manifest fields a shard's record carries: not the download link, which expires, nor the
# withdrawal, since withdrawn items are never in a shard.
RECORD_COLUMNS = tuple(column for column in COLUMNS
                       if column not in ("download_url", "withdrawn", "withdrawn_at", "withdrawal_reason"))
_RECORD_INDEXES = tuple(COLUMNS.index(column) for column in RECORD_COLUMNS)
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}


def extension(mime_type: str) -> str:
    return EXTENSIONS.get(mime_type) or mimetypes.guess_extension(mime_type) or ".bin"


def record(item: ManifestItem) -> bytes:
    values = item_values(item)
    return (json.dumps({column: values[i] for column, i in zip(RECORD_COLUMNS, _RECORD_INDEXES, strict=True)},
                       ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class HashingWriter:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, target: BinaryIO):
        self.target, self.sha256, self.bytes = target, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.target.write(data)
        self.sha256.update(data)
        self.bytes += len(data)
        return len(data)


@dataclass
class ShardMember:
    item: ManifestItem
    file: BinaryIO  # the stored file, read once in chunks
    size: int


def _header(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o444
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_shard(target: BinaryIO, members: Iterable[ShardMember], *, mtime: int) -> tuple[int, str]:
    """Write the members as one tar stream to `target`; returns (bytes, sha256 hex)."""
    out = HashingWriter(target)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for member in members:
            key = str(member.item.asset_id)
            tar.addfile(_header(f"{key}{extension(member.item.mime_type)}", member.size, mtime), member.file)
            data = record(member.item)
            tar.addfile(_header(f"{key}.json", len(data), mtime), io.BytesIO(data))
    return out.bytes, out.sha256.hexdigest()


def tar_overhead(size: int) -> int:
    """Bytes a member of `size` takes in the tar: its header block and its data padded to 512."""
    return 512 + (size + 511) // 512 * 512
