"""JSONL and CSV slice manifests, written one item at a time."""

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator

from .items import COLUMNS, ManifestItem, item_values

_encode = json.JSONEncoder(ensure_ascii=False).encode

# The item lists' file names and the media types they are served as, streamed or prebuilt.
MEDIA_TYPES = {"manifest.jsonl": "application/x-ndjson", "manifest.csv": "text/csv; charset=utf-8"}


def jsonl_lines(items: Iterable[ManifestItem]) -> Iterator[str]:
    """One JSON object per item, one item per line."""
    for item in items:
        yield _encode(dict(zip(COLUMNS, item_values(item)))) + "\n"


def csv_lines(items: Iterable[ManifestItem]) -> Iterator[str]:
    """The header row, then one row per item (RFC 4180: quoted fields, CRLF line ends)."""
    # The writer hands each row straight back instead of buffering it (the pattern of
    # Django's "Streaming large CSV files"), so memory stays flat however large the slice.
    writer = csv.writer(_RowEcho())
    yield writer.writerow(COLUMNS)
    for item in items:
        yield writer.writerow([_csv_cell(value) for value in item_values(item)])


def csv_header() -> str:
    """The CSV manifest's first line, as csv_lines writes it."""
    return csv.writer(_RowEcho()).writerow(COLUMNS)


class _RowEcho:
    def write(self, row: str) -> str:
        return row


def _csv_cell(value):
    # Lower-case booleans are what pandas (and so mlcroissant) reads back as booleans;
    # an empty cell is what it reads back as missing.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def manifest_sha256(chunks: Iterable[str]) -> str:
    """The sha256 of a streamed manifest as served, UTF-8 encoded, without holding it."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk.encode("utf-8"))
    return digest.hexdigest()


def batched(chunks, size=64 * 1024):
    """Join small chunks (text, or bytes as PostgreSQL sends them) into ~64 KiB UTF-8 writes: one write
    per manifest line would dominate the time."""
    buffer, length = [], 0
    for chunk in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        buffer.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)
