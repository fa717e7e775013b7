"""One item of a slice manifest, and the columns every tabular manifest shares."""

import datetime
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ManifestItem:
    """An asset granted to a licence, as the licensee sees it in a slice manifest."""

    asset_id: int
    kind: str  # "image" or "video"
    title: str
    mime_type: str
    bytes: int
    sha256: str  # hex digest of the file served at download_url
    width: int
    height: int
    duration_seconds: float | None  # videos only
    contributor_ref: str  # "contributor-42": a reference, never the contributor's name
    download_url: str  # absolute, expiring, bound to the licence
    # Set when the item was withdrawn after the slice was built: the contributor opted out of AI training,
    # the work was taken down, or its file's own assertion reserves it.
    withdrawn_at: datetime.datetime | None = None
    # Why, as the withdrawals feed says it: "opt_out", or the licensor's words (a takedown's reason).
    withdrawal_reason: str | None = None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @classmethod
    def granted(cls, *, asset_id, contributor_id, url_prefix, withdrawal_reason="", **fields) -> "ManifestItem":
        """The one mapping from a granted asset to what licensees see, for every manifest and the API.
        A withdrawn item keeps its link: it answers 410 Gone with why, which tells a pipeline to purge it."""
        return cls(asset_id=asset_id, contributor_ref=f"contributor-{contributor_id}",
                   download_url=f"{url_prefix}{asset_id}",
                   withdrawal_reason=reason_of(fields.get("withdrawn_at"), withdrawal_reason), **fields)


def reason_of(withdrawn_at, recorded):
    """The withdrawal reason a manifest states: none for an item still granted; rows withdrawn before reasons
    were recorded were opt-outs. (manifest_jsonl_from_database says the same in SQL.)"""
    if withdrawn_at is None:
        return None
    return recorded or "opt_out"


# The order of the CSV header and of the keys of each JSONL object. The Croissant
# record set reads these CSV columns by name, so renaming one is a breaking change for
# every licensee's training pipeline.
COLUMNS = (
    "asset_id",
    "kind",
    "title",
    "mime_type",
    "bytes",
    "sha256",
    "width",
    "height",
    "duration_seconds",
    "contributor_ref",
    "download_url",
    "withdrawn",
    "withdrawn_at",
    "withdrawal_reason",
)


def timestamp(value: datetime.datetime | None) -> str | None:
    """ISO 8601 in UTC with all six fractional digits, so every writer spells it alike."""
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")


def item_values(item: ManifestItem) -> tuple:
    """The item's values in COLUMNS order, as JSON would carry them."""
    return (
        item.asset_id,
        item.kind,
        item.title,
        item.mime_type,
        item.bytes,
        item.sha256,
        item.width,
        item.height,
        item.duration_seconds,
        item.contributor_ref,
        item.download_url,
        item.withdrawn,
        timestamp(item.withdrawn_at),
        item.withdrawal_reason,
    )
