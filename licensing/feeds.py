"""Catalogue feeds: CSV or JSON Lines, one work per row, read into typed rows or rejections.

Columns (CSV header / JSON keys):
    external_id, kind, title, tags, width, height, duration_seconds, bytes, mime_type, sha256,
    storage_key, contributor_external_id, contributor_name, collection, rightsholders

In CSV, `tags` are separated by `|` and `rightsholders` read `contributor:C-17=60|organisation:studio=40`
(shares in percent, at most two decimals). In JSON Lines, `tags` is a list and `rightsholders` a list
of `{"contributor": "C-17", "share": 60}` or `{"organisation": "studio", "share": 40}`. An empty
`collection` or `rightsholders` leaves what the work has; given, they replace it.

Every refusal names its line (the header is line 1 of a CSV) and says what to fix. A line is read
as a whole or not at all.
"""
import csv
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

COLUMNS = ("external_id", "kind", "title", "tags", "width", "height", "duration_seconds", "bytes", "mime_type",
           "sha256", "storage_key", "contributor_external_id", "contributor_name", "collection", "rightsholders")
REQUIRED_COLUMNS = ("external_id", "kind", "title", "width", "height", "bytes", "mime_type", "sha256",
                    "contributor_external_id", "contributor_name")
ALIASES = {"duration": "duration_seconds", "contributor": "contributor_external_id", "mime": "mime_type"}
KINDS = ("image", "video")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_INT = 2**31 - 1
MAX_BYTES = 2**62
WHOLE = 10_000  # shares in hundredths of a percent


class FeedUnreadable(Exception):
    """The feed as a whole cannot be read (no header, a missing column): nothing was taken."""


@dataclass(frozen=True)
class Rejection:
    line: int
    external_id: str
    reason: str


@dataclass(frozen=True)
class RightsShare:
    party: str  # "contributor" or "organisation"
    ref: str  # the contributor's external id, or the organisation's slug
    share_bp: int


def detect_format(name):
    lowered = (name or "").lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith((".csv", ".txt")):
        return "csv"
    return None


def read_feed(stream, fmt):
    """Yield (line, values) per data row: values a dict of column -> raw value, or a Rejection."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        if fmt == "csv":
            yield from _csv_rows(text)
        else:
            yield from _jsonl_rows(text)
    except UnicodeDecodeError as error:
        raise FeedUnreadable(f"The feed is not UTF-8 text ({error.reason} at byte {error.start}).") from None


def _csv_rows(text):
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise FeedUnreadable("The feed is empty: a CSV feed starts with a header line naming its columns.") from None
    except csv.Error as error:
        raise FeedUnreadable(f"Line 1 (the header) is not CSV: {error}.") from None
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FeedUnreadable(f"The header (line 1) lacks the column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)}. It must name: {', '.join(COLUMNS)}.")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise FeedUnreadable(f"The header (line 1) names unknown columns: {', '.join(unknown)}. "
                             f"Known columns: {', '.join(COLUMNS)}.")
    width = len(names)
    line = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = reader.line_num
            yield line, Rejection(line, "", f"not valid CSV: {error}")
            continue
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            yield line, Rejection(line, row[0].strip() if row else "",
                                  f"has {len(row)} fields where the header names {width}")
            continue
        yield line, dict(zip(names, row))


def _jsonl_rows(text):
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            values = json.loads(raw)
        except ValueError as error:
            yield line, Rejection(line, "", f"is not JSON: {error.msg} at column {error.colno}")
            continue
        if not isinstance(values, dict):
            yield line, Rejection(line, "", "is not a JSON object with the work's fields")
            continue
        unknown = [k for k in values if ALIASES.get(k, k) not in COLUMNS]
        if unknown:
            yield line, Rejection(line, str(values.get("external_id", ""))[:200],
                                  f"has unknown fields {', '.join(map(str, unknown))[:200]}")
            continue
        yield line, {ALIASES.get(k, k): v for k, v in values.items()}


# --- One row ---------------------------------------------------------------------

class _Bad(Exception):
    pass


def _text(values, key, *, required=False, limit=300):
    value = values.get(key)
    if type(value) is str:  # every CSV field, most JSON ones: the checks without the conversions
        value = value.strip()
        if not value:
            if required:
                raise _Bad(f"{key} is empty")
            return value
        if len(value) > limit:
            raise _Bad(f"{key} is longer than {limit} characters")
        if "\x00" in value or not value.isascii():
            _check_text(value, key)
        return value
    if value is None:
        value = ""
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Bad(f"{key} must be text")
        value = str(value)
    value = value.strip()
    if required and not value:
        raise _Bad(f"{key} is empty")
    if len(value) > limit:
        raise _Bad(f"{key} is longer than {limit} characters")
    _check_text(value, key)
    return value


def _check_text(value, key):
    if "\x00" in value:
        raise _Bad(f"{key} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(f"{key} holds a character that is not valid Unicode") from None


def _whole(values, key, *, minimum, maximum=MAX_INT):
    value = values.get(key)
    if type(value) is str:
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            raise _Bad(f"{key} must be a whole number, not “{value[:40]}”" if value else f"{key} is empty")
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _Bad(f"{key} must be a whole number" if value not in (None, "") else f"{key} is empty")
    if not minimum <= value <= maximum:
        raise _Bad(f"{key} must be from {minimum:,} to {maximum:,}, not {value:,}")
    return value


def _duration(values, kind):
    value = values.get("duration_seconds")
    if value is None or (isinstance(value, str) and not value.strip()):
        if kind == "video":
            raise _Bad("duration_seconds is empty: a video needs its length in seconds")
        return None
    if kind == "image":
        raise _Bad("duration_seconds is given for an image: only videos have one")
    try:
        seconds = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or seconds != seconds or not 0 < seconds < 10**7:
        raise _Bad(f"duration_seconds must be a number of seconds above 0, not “{str(value)[:40]}”")
    return seconds


def _tags(values):
    value = values.get("tags")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                raise _Bad("tags look like a JSON list but are not one") from None
        else:
            value = value.split("|")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _Bad("tags must be a list of words")
    tags = []
    for tag in value:
        tag = tag.strip()
        if tag and tag not in tags:
            if len(tag) > 100:
                raise _Bad("a tag is longer than 100 characters")
            if "\x00" in tag or not tag.isascii():
                _check_text(tag, "a tag")
            tags.append(tag)
    if len(json.dumps(tags, ensure_ascii=False).encode()) > MAX_TAGS_BYTES:
        raise _Bad(f"the tags take more than {MAX_TAGS_BYTES:,} bytes: give fewer")
    return tags


# The tags travel in the index slices walk (asset_rank_idx), whose entries must fit a third of a page.
MAX_TAGS_BYTES = 2_000


def _tags_json(tags):
    """The tags as Django's JSONField writes them (json.dumps), built directly for plain ASCII words."""
    if all(t.isascii() and t.isprintable() and '"' not in t and "\\" not in t for t in tags):
        return "[" + ", ".join(f'"{t}"' for t in tags) + "]"
    return json.dumps(tags)


def _share(text):
    try:
        if isinstance(text, bool):
            raise InvalidOperation
        percent = Decimal(str(text).strip())
        bp = percent * 100
        whole = bp.is_finite() and bp == bp.to_integral_value()
    except InvalidOperation:
        raise _Bad(f"a rightsholder's share “{str(text)[:20]}” is not a percentage") from None
    if not whole or not 0 < bp <= WHOLE:
        raise _Bad(f"a rightsholder's share must be above 0 and at most 100, with two decimals at most, "
                   f"not {text}")
    return int(bp)


def _rightsholders(values, external_id):
    value = values.get("rightsholders")
    if value is None or value == "" or value == []:
        return None
    shares = []
    if isinstance(value, str):
        for part in value.split("|"):
            part = part.strip()
            if not part:
                continue
            party, _, rest = part.partition(":")
            ref, eq, share = rest.rpartition("=")
            party = {"contributor": "contributor", "c": "contributor", "organisation": "organisation",
                     "organization": "organisation", "o": "organisation"}.get(party.strip().lower())
            if party is None or not eq or not ref.strip():
                raise _Bad(f"rightsholder “{part[:60]}” must read contributor:ID=SHARE or organisation:SLUG=SHARE")
            shares.append(RightsShare(party, ref.strip()[:200], _share(share)))
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict) or "share" not in entry or \
                    len([k for k in ("contributor", "organisation") if entry.get(k)]) != 1:
                raise _Bad("each rightsholder must be {\"contributor\": id, \"share\": n} "
                           "or {\"organisation\": slug, \"share\": n}")
            party = "contributor" if entry.get("contributor") else "organisation"
            ref = str(entry[party]).strip()[:200]
            _check_text(ref, "a rightsholder")
            shares.append(RightsShare(party, ref, _share(entry["share"])))
    else:
        raise _Bad("rightsholders must be a list")
    seen = set()
    for share in shares:
        if (share.party, share.ref) in seen:
            raise _Bad(f"rightsholder {share.party} {share.ref} is listed twice")
        seen.add((share.party, share.ref))
    total = sum(s.share_bp for s in shares)
    if total != WHOLE:
        raise _Bad(f"the rightsholders' shares of work {external_id} add to {_percent(total)}%, not 100%")
    return shares


def parse_rightsholders(text, external_id):
    """`contributor:C-17=60|organisation:studio=40` (or one a line) as RightsShares adding to 100%, or
    ValueError saying what is wrong. An empty text is an empty list."""
    joined = "|".join(line.strip() for line in (text or "").splitlines() if line.strip())
    try:
        return _rightsholders({"rightsholders": joined}, external_id) or []
    except _Bad as bad:
        raise ValueError(str(bad)[:1].upper() + str(bad)[1:] + ".") from None


def _percent(bp):
    return f"{bp // 100}" if bp % 100 == 0 else f"{bp / 100:.2f}"


def clean_row(line, values):
    """(work, rightsholders or None) for the staging table, or a Rejection naming the first problem."""
    external_id = ""
    try:
        external_id = _text(values, "external_id", required=True, limit=100)
        kind = _text(values, "kind", required=True, limit=10).lower()
        if kind not in KINDS:
            raise _Bad(f"kind must be image or video, not “{kind[:20]}”")
        title = _text(values, "title", required=True, limit=300)
        width = _whole(values, "width", minimum=1)
        height = _whole(values, "height", minimum=1)
        duration = _duration(values, kind)
        size = _whole(values, "bytes", minimum=1, maximum=MAX_BYTES)
        mime = _text(values, "mime_type", required=True, limit=100).lower()
        if not mime.startswith(kind + "/"):
            raise _Bad(f"mime_type {mime} is not a type of {kind}")
        sha = _text(values, "sha256", required=True, limit=64).lower()
        if not SHA256.fullmatch(sha):
            raise _Bad("sha256 must be 64 hexadecimal digits")
        key = _text(values, "storage_key", limit=500)
        if key and (key.startswith("/") or ".." in key.split("/") or "\\" in key):
            raise _Bad("storage_key must be a relative path inside the media storage")
        contributor = _text(values, "contributor_external_id", required=True, limit=100)
        contributor_name = _text(values, "contributor_name", required=True, limit=200)
        collection = _text(values, "collection", limit=200)
        tags = _tags(values)
        rights = _rightsholders(values, external_id)
    except _Bad as bad:
        return Rejection(line, external_id, str(bad))
    work = (line, external_id, kind, title, _tags_json(tags), width, height, duration, size, mime, sha, key,
            contributor, contributor_name, collection)
    return work, rights
