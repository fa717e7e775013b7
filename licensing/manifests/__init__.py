"""Slice manifests: JSONL, CSV and Croissant 1.1 and dataset cards, streamed so memory stays flat in slice size."""

from .croissant import SliceManifestMeta, croissant_chunks
from .items import COLUMNS, ManifestItem
from .lines import MEDIA_TYPES, batched, csv_header, csv_lines, jsonl_lines, manifest_sha256

__all__ = [
    "COLUMNS",
    "MEDIA_TYPES",
    "ManifestItem",
    "SliceManifestMeta",
    "batched",
    "croissant_chunks",
    "csv_header",
    "csv_lines",
    "jsonl_lines",
    "manifest_sha256",
]
