"""A slice manifest as Croissant 1.1 JSON-LD (MLCommons), with the RAI vocabulary, streamed.

What mlcroissant 1.1 does with it, read from its source:
- Every FileObject needs `sha256` or `md5`, unless the dataset says `isLiveDataset`.
- When a FileObject carries a hash, the downloaded bytes must match it, live dataset or
  not, or iterating records fails with a ValueError.
- It fetches `contentUrl` with a bare GET (HTTP basic auth from environment variables at
  most, no other headers), and caches the file under a name derived from the URL alone,
  never fetching that URL again.
"""

import datetime
import json
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .items import ManifestItem, timestamp

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
CROISSANT_RAI_1_0 = "http://mlcommons.org/croissant/RAI/1.0"
# The version of this metadata (Croissant 1.1's sdVersion), apart from the slice's own version:
# 2 since the manifests moved to Croissant 1.1 and carried the fuller RAI description.
SD_VERSION = "2"

# The JSON-LD context of Croissant 1.1 (its appendix 1): 1.0's plus the new terms. The appendix
# drops `path`, `repeated` and `replace`, but mlcroissant 1.1 still warns about a document whose
# context lacks them, and a term no property uses costs nothing: they stay.
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "annotation": "cr:annotation",
    "arrayShape": "cr:arrayShape",
    "containedIn": "cr:containedIn",
    "excludes": "cr:excludes",
    "isArray": "cr:isArray",
    "readLines": "cr:readLines",
    "sdVersion": "cr:sdVersion",
    "unArchive": "cr:unArchive",
    "value": "cr:value",
}

CSV_FILE_ID = "manifest.csv"
RECORD_SET_ID = "items"

# The CSV columns the record set reads, with their Croissant data types.
RECORD_FIELDS = (
    ("asset_id", "sc:Integer", "The catalogue's id of the asset."),
    ("kind", "sc:Text", "image or video."),
    ("title", "sc:Text", "The title the contributor gave the work."),
    ("mime_type", "sc:Text", "The media type of the file."),
    ("bytes", "sc:Integer", "The size of the file in bytes."),
    ("sha256", "sc:Text", "The sha256 of the file, in hex."),
    ("width", "sc:Integer", "Width in pixels."),
    ("height", "sc:Integer", "Height in pixels."),
    ("duration_seconds", "sc:Float", "Duration of a video in seconds; empty for images."),
    ("contributor_ref", "sc:Text", "A stable reference to the contributor, not their name."),
    ("download_url", "sc:URL", "Where to download the file: bound to the licence, and expiring."),
    ("withdrawn", "sc:Boolean", "True when the item was withdrawn after the slice was built: delete it."),
    ("withdrawn_at", "sc:DateTime", "When the item was withdrawn; empty if it was not."),
    ("withdrawal_reason", "sc:Text", "Why it was withdrawn: opt_out (the contributor opted out of AI training) "
                                     "or the licensor's reason, such as a takedown's; empty if it was not."),
)


@dataclass
class SliceManifestMeta:
    """What the Croissant document says about the slice as a whole."""

    name: str
    description: str
    slice_url: str  # the slice's page: the dataset's `url`
    licence_url: str  # the licence's terms: the dataset's `license`
    licence_id: str
    licensee_name: str  # the organisation the licence is granted to
    licensor_name: str  # who grants the licence: the dataset's creator and publisher
    selection: str  # how the slice was selected: its filters and seed, in words
    created_at: datetime.datetime
    # An absolute URL that answers a bare GET with csv_lines() of the same items: the
    # record set is read from it. mlcroissant sends no API key and never refetches a URL
    # it has cached, so the URL must carry its own authorisation and change whenever the
    # CSV does (a withdrawal, fresh download links).
    csv_url: str
    # Leave empty unless the bytes served at csv_url are pinned (stored once, served
    # as stored): the CSV holds expiring download links and withdrawals, so a hash
    # computed now would fail mlcroissant's check on a later download. Without it the
    # document declares a live dataset, which Croissant allows to omit the hash.
    csv_sha256: str | None = None
    version: str = "1.0.0"
    # The slice's WebDataset tar shards: dicts with name, url, bytes and sha256, as the shard index lists them.
    shards: list = field(default_factory=list)
    shard_index_url: str | None = None
    media_types: tuple = ()


def croissant_chunks(meta: SliceManifestMeta, items: Iterable[ManifestItem]) -> Iterator[str]:
    """The Croissant JSON-LD of a slice, one item's FileObject per chunk."""
    head = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT_1_1, CROISSANT_RAI_1_0],
        "name": meta.name,
        "description": meta.description,
        "url": meta.slice_url,
        "license": meta.licence_url,
        "creator": {"@type": "sc:Organization", "name": meta.licensor_name},
        "publisher": {"@type": "sc:Organization", "name": meta.licensor_name},
        "datePublished": timestamp(meta.created_at),
        "dateCreated": timestamp(meta.created_at),
        "version": meta.version,
        "sdVersion": SD_VERSION,
        "citeAs": f"{meta.licensor_name}. {meta.name}. Licence {meta.licence_id}. {meta.slice_url}",
        # Withdrawals and fresh download links change the manifest after the slice is built.
        "isLiveDataset": True,
        **_responsible_ai(meta),
    }
    yield "{\n"
    for key, value in head.items():
        yield f"{_json(key)}: {_json(value)},\n"
    yield f'"distribution": [\n{_json(_csv_file_object(meta))}'
    for item in items:
        yield f",\n{_json(_item_file_object(item))}"
    for shard in meta.shards:
        yield f",\n{_json(_shard_file_object(shard))}"
    if meta.shards:
        yield f",\n{_json(_shard_file_set(meta))}"
    yield f'\n],\n"recordSet": [{_json(_record_set())}]\n}}\n'


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _responsible_ai(meta: SliceManifestMeta) -> dict:
    return {
        "rai:dataCollection": (
            f"Images and videos from {meta.licensor_name}'s catalogue, uploaded by their "
            "contributors (photographers and film makers). Every contributor whose works "
            "are in this slice had opted in to AI training when the slice was built: works "
            "of contributors who had opted out were excluded at selection. A contributor "
            "may opt out later; their items then stay listed but are marked withdrawn "
            "(withdrawn = true, with withdrawn_at) and can no longer be downloaded. "
            f"Selection: {meta.selection}"
        ),
        "rai:dataCollectionType": ["Software Collection", "Others: licensed stock media contributed by opted-in contributors"],
        "rai:dataCollectionRawData": (
            "Files are delivered as the contributors uploaded them; each item gives the "
            "sha256 of its file."
        ),
        "rai:dataPreprocessingProtocol": [f"Selected from the catalogue by: {meta.selection}"],
        "rai:dataCollectionTimeframe": [timestamp(meta.created_at)],
        # mlcroissant 1.1 reads the property under this spelling; the RAI vocabulary's is the one above.
        "rai:dataCollectionTimeFrame": [timestamp(meta.created_at)],
        "rai:dataCollectionMissingData": (
            "Works whose contributors had opted out of AI training are missing by design; so are works "
            "already granted to this licence in an earlier slice."
        ),
        "rai:dataUseCases": [
            f"AI training by {meta.licensee_name} under licence {meta.licence_id} "
            f"({meta.licence_url}), within what that licence permits.",
            "Training, fine-tuning, validation and testing of models of the kind the licence names; each model "
            "version trained on this slice is declared to the licensor.",
        ],
        "rai:dataLimitations": [
            "A pseudo-random selection from one licensor's catalogue of stock photographs and video: it is not "
            "representative of all images or videos, of any population, or of the world's places and cultures.",
            "Not licensed for uses outside the licence, for identifying people, or for redistribution.",
        ],
        "rai:dataBiases": [
            "The catalogue reflects what its contributors photographed and filmed and what sells as stock media; "
            "subjects, regions and styles are unevenly represented."
        ],
        "rai:dataSocialImpact": (
            "The works are licensed, their contributors asked and paid: contributors receive a share of the "
            "licensing revenue and may opt out of AI training at any time."
        ),
        "rai:personalSensitiveInformation": [
            "The manifest names no contributor: each is identified by a stable reference "
            "(contributor_ref). The works themselves may depict people."
        ],
        # One text: mlcroissant 1.1 reads this property with cardinality ONE and warns about a list.
        "rai:dataReleaseMaintenancePlan": (
            "No item is ever added to a slice. When a contributor opts out of AI training, "
            "their items are marked withdrawn in every later copy of this manifest and "
            "their downloads answer 410 Gone. Download links expire: fetch the manifest "
            f"again for fresh ones. Maintained by {meta.licensor_name} for as long as licence "
            f"{meta.licence_id} runs."
        ),
    }


def _csv_file_object(meta: SliceManifestMeta) -> dict:
    file_object = {
        "@type": "cr:FileObject",
        "@id": CSV_FILE_ID,
        "name": CSV_FILE_ID,
        "description": "The slice manifest as CSV: one row per item, with a header row.",
        "contentUrl": meta.csv_url,
        "encodingFormat": "text/csv",
    }
    if meta.csv_sha256:
        file_object["sha256"] = meta.csv_sha256
    return file_object


def _item_file_object(item: ManifestItem) -> dict:
    extension = mimetypes.guess_extension(item.mime_type) or ""
    file_object = {
        "@type": "cr:FileObject",
        "@id": f"asset-{item.asset_id}",
        "name": f"asset-{item.asset_id}{extension}",
        "description": item.title,
        "contentUrl": item.download_url,
        "contentSize": f"{item.bytes} B",
        "encodingFormat": item.mime_type,
        "sha256": item.sha256,
    }
    if item.withdrawn:
        # Croissant has no term for a withdrawn file; schema.org's lifecycle status and
        # expiry date say it to any reader of the JSON-LD.
        file_object["creativeWorkStatus"] = "Withdrawn"
        file_object["expires"] = timestamp(item.withdrawn_at)
    return file_object


def _shard_file_object(shard: dict) -> dict:
    return {
        "@type": "cr:FileObject",
        "@id": f"shard-{shard['number']:06d}",
        "name": shard["name"],
        "description": f"WebDataset tar shard {shard['number']} (version {shard['version']}): {shard['items']} "
                       "items as <asset_id>.<ext> with <asset_id>.json, in item order.",
        "contentUrl": shard["url"],
        "contentSize": f"{shard['bytes']} B",
        "encodingFormat": "application/x-tar",
        "sha256": shard["sha256"],
    }


def _shard_file_set(meta: SliceManifestMeta) -> dict:
    return {
        "@type": "cr:FileSet",
        "@id": "shard-members",
        "name": "shard-members",
        "description": "The files and JSON records inside the WebDataset tar shards"
                       + (f"; the shard index is {meta.shard_index_url}" if meta.shard_index_url else "") + ".",
        "containedIn": [{"@id": f"shard-{shard['number']:06d}"} for shard in meta.shards],
        "encodingFormat": [*meta.media_types, "application/json"],
        "includes": ["*"],
    }


def _record_set() -> dict:
    return {
        "@type": "cr:RecordSet",
        "@id": RECORD_SET_ID,
        "name": RECORD_SET_ID,
        "description": "The items of the slice, read from the CSV manifest.",
        "key": {"@id": f"{RECORD_SET_ID}/asset_id"},
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{RECORD_SET_ID}/{column}",
                "name": column,
                "description": description,
                "dataType": data_type,
                "source": {"fileObject": {"@id": CSV_FILE_ID}, "extract": {"column": column}},
            }
            for column, data_type, description in RECORD_FIELDS
        ],
    }
