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

`FeedReader` reads a feed in batches. A CSV is parsed by the csv module; each batch is checked
column by column (one regular expression over a column's values joined, one set of its distinct
tags), so a batch of plain rows costs no Python call per row. A value is plain when `clean_row`
would take it exactly as it is; a row with any other value goes through `clean_row`, which stays
the one statement of the rules and of their messages.
"""
import csv
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import repeat
from operator import add, eq, itemgetter, not_

import orjson

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


def _text_stream(stream):
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")


def read_feed(stream, fmt):
    """Yield (line, values) per data row: values a dict of column -> raw value, or a Rejection."""
    text = _text_stream(stream)
    try:
        if fmt == "csv":
            yield from _csv_rows(text)
        else:
            yield from _jsonl_rows(text)
    except UnicodeDecodeError as error:
        raise FeedUnreadable(f"The feed is not UTF-8 text ({error.reason} at byte {error.start}).") from None


def _csv_header(reader):
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
    return names


def _csv_rows(text):
    """(line, values) per row, the slow way: one dict and one clean_row call per row. FeedReader is the
    fast way; this one states the reading that it must match."""
    reader = csv.reader(text)
    names = _csv_header(reader)
    width = len(names)
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


def _json_line(raw):
    """orjson first (in C); what it refuses, json reads as before (NaN, integers past 64 bits, lone
    surrogates), so that the feed means what it meant."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _jsonl_rows(text):
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            values = _json_line(raw)
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


# --- Whole batches ---------------------------------------------------------------

BLOCK_CHARS = 1 << 22  # the CSV is read in blocks of whole lines of about this many characters
JSON_BATCH_ROWS = 20_000
WORK = ("external_id", "kind", "title", "tags", "width", "height", "duration_seconds", "bytes", "mime_type", "sha256",
        "storage_key", "contributor_external_id", "contributor_name", "collection")  # a work after its line
STAGED_NAMES = {"contributor_external_id": "contributor_ext"}  # feed column -> staging table column


def _plain_text(limit, *, required=True):
    """Text that _text keeps as it is: nothing to strip, no NUL, no line break, at most `limit` characters."""
    one = rf"[^\s\x00](?:[^\x00\r\n]{{0,{limit - 2}}}[^\s\x00])?"
    return one if required else f"(?:{one})?"


# What clean_row returns unchanged, column by column (tags and rightsholders are checked otherwise).
PLAIN = {
    "external_id": _plain_text(100),
    "kind": "image|video",
    "title": _plain_text(300),
    "width": "[1-9][0-9]{0,8}",
    "height": "[1-9][0-9]{0,8}",
    # Above 0 (a digit that is not 0) and below 10⁷ (six digits at most before the point); Python and
    # PostgreSQL both round a decimal to the nearest double.
    "duration_seconds": r"(?:(?=[0-9.]*[1-9])[0-9]{1,6}(?:\.[0-9]{1,20})?)?",
    "bytes": "[1-9][0-9]{0,17}",
    "mime_type": "(?:image|video)/[a-z0-9][a-z0-9.+-]{0,80}",
    "sha256": "[0-9a-f]{64}",
    # Relative, no `..` anywhere, no backslash, nothing to strip.
    "storage_key": r"(?:(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9_./-]{0,499})?",
    "contributor_external_id": _plain_text(100),
    "contributor_name": _plain_text(200),
    "collection": _plain_text(200, required=False),
}
_PLAIN_LINES = {name: re.compile(f"^(?:{pattern})$", re.MULTILINE) for name, pattern in PLAIN.items()}
_PLAIN_VALUE = {name: re.compile(pattern) for name, pattern in PLAIN.items()}


# Columns with few distinct values: each distinct value is checked once.
FEW_VALUES = {"kind", "width", "height", "duration_seconds", "mime_type", "storage_key", "collection"}


def _not_plain(name, values, *, few=False):
    """Indices of the values that are not plain: none found with one search over the joined column, or one
    match per distinct value."""
    if few:
        distinct = set(values)
        if len(distinct) * 4 <= len(values):
            match = _PLAIN_VALUE[name].fullmatch
            bad = {value for value in distinct if not match(value)}
            return [i for i, value in enumerate(values) if value in bad] if bad else ()
    joined = "\n".join(values)
    if joined.count("\n") == len(values) - 1 and len(_PLAIN_LINES[name].findall(joined)) == len(values):
        return ()
    match = _PLAIN_VALUE[name].fullmatch
    return [i for i, value in enumerate(values) if not match(value)]


def _tags_plain(value):
    """The tags' JSON as clean_row makes it from this value, or None when clean_row refuses it."""
    try:
        return _tags_json(_tags({"tags": value}))
    except _Bad:
        return None


def _numbered(numbers, lines):
    """COPY CSV: each line (without its end) after its number."""
    if not lines:
        return ""
    return "\n".join(map(add, map(str, numbers), map(add, repeat(","), lines))) + "\n"


@dataclass
class Batch:
    """Works for the staging table, in the feed's column order after their line: `text` is COPY CSV (the
    feed's own lines, each after its line number), `rows` tuples (cleaned works, and the works of a block
    with quotes). `tags` are the feed's text: the batch or an earlier one says what each one means."""

    text: str
    rows: list
    names: dict = None  # contributor external id -> a name, for the contributors new to the feed
    firsts: dict = None  # collection -> the contributor of its first work, for collections new to the feed
    tags: list = None  # (tags text, JSON) first met in this batch

    def __len__(self):
        return self.text.count("\n") + len(self.rows)


class _Lines:
    """The feed's lines, for one csv.reader that is handed some blocks and reads on from the file when a
    quoted value runs past its block."""

    def __init__(self, text):
        self.text, self.pending = text, []

    def __iter__(self):
        return self

    def __next__(self):
        if self.pending:
            return self.pending.pop()
        line = self.text.readline()
        if not line:
            raise StopIteration
        return line


class FeedReader:
    """A feed read in batches of works ready for staging, in line order.

    The reader keeps what the batches do not carry: every rejection; the works with rightsholders
    (`held`, as (work, shares), checked once every contributor is known); the last staged name of each
    contributor; the first staged work of each collection; the JSON of every tags text staged."""

    def __init__(self, stream, fmt):
        self.stream, self.fmt = stream, fmt
        self.rejections, self.held = [], []
        # The staged columns after `line`: the feed's own order when its lines are staged as they are.
        self.columns = [STAGED_NAMES.get(name, name) for name in WORK]
        self._order = list(range(1, len(WORK) + 1))  # where each staged column is in a work
        self.seen = {}  # external id -> the line that has it
        self.names = {}  # contributor external id -> (line, name) of its last staged work
        self.firsts = {}  # collection -> (line, contributor external id) of its first staged work
        self.tag_json = {}  # tags text -> its JSON (None: refused)
        self._names, self._firsts, self._new_tags = {}, {}, []
        self._tag("", "[]")

    # -- reading --

    def batches(self, progress=None):
        """Yield Batches; `progress(stream position)` is called once a batch."""
        text = _text_stream(self.stream)
        try:
            batches = self._csv_batches(text) if self.fmt == "csv" else self._jsonl_batches(text)
            for batch in batches:
                if progress is not None:
                    progress(self._position())
                yield batch  # an empty one too: it may say what tags mean
        except UnicodeDecodeError as error:
            raise FeedUnreadable(f"The feed is not UTF-8 text ({error.reason} at byte {error.start}).") from None

    def _position(self):
        try:
            return self.stream.tell()
        except (OSError, ValueError):
            return 0

    def _csv_batches(self, text):
        lines = _Lines(text)
        reader = csv.reader(lines)
        names = _csv_header(reader)
        self.line = reader.line_num
        index = {name: i for i, name in enumerate(names)}  # a column named twice: the last one, as in a dict
        if len(index) == len(names):
            self.columns = [STAGED_NAMES.get(name, name) for name in names]
            self._order = [WORK.index(name) + 1 if name in WORK else None for name in names]
        width = len(names)
        while True:
            block = text.readlines(BLOCK_CHARS)
            if not block:
                return
            joined = "".join(block)
            crlf = joined.count("\r\n")
            if '"' in joined or joined.count("\r") != crlf:
                rows, numbers = self._read_quoted(reader, lines, block, width)
                yield self._batch(names, index, list(zip(*rows)), rows, numbers, None)
                continue
            # No quote, and no carriage return but in line ends: each line is one row, its fields split at
            # commas, exactly as the csv module would read them.
            if crlf:
                joined = joined.replace("\r\n", "\n")
            block = joined.split("\n")
            if block[-1] == "":
                block.pop()
            first = self.line + 1
            self.line += len(block)
            numbers = range(first, self.line + 1)
            if set(map(str.count, block, repeat(","))) == {width - 1}:
                # Every line has the header's fields: split them all at once, a column every `width` fields.
                fields = ",".join(block).split(",")
                columns = [fields[i::width] for i in range(width)]
                yield self._batch(names, index, columns, None, list(numbers),
                                  block if len(index) == len(names) else None)
                continue
            rows = list(map(str.split, block, repeat(",")))
            kept = [(row, line) for row, line in zip(rows, numbers) if self._width_ok(row, line, width)]
            rows, numbers = [r for r, _ in kept], [n for _, n in kept]
            yield self._batch(names, index, list(zip(*rows)), rows, numbers, None)

    def _width_ok(self, row, line, width):
        if len(row) == width:
            return True
        if row and not (len(row) == 1 and not row[0].strip()):
            self.rejections.append(Rejection(line, row[0].strip(),
                                             f"has {len(row)} fields where the header names {width}"))
        return False

    def _read_quoted(self, reader, lines, block, width):
        """A block with quotes, through the one csv.reader: a value may run on past the block's end."""
        lines.pending = block[::-1]
        before, end = reader.line_num, reader.line_num + len(block)
        rows, numbers = [], []
        while reader.line_num < end:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                self.rejections.append(Rejection(self.line + reader.line_num - before, "", f"not valid CSV: {error}"))
                continue
            line = self.line + reader.line_num - before
            if self._width_ok(row, line, width):
                rows.append(row)
                numbers.append(line)
        self.line += reader.line_num - before
        return rows, numbers

    def _jsonl_batches(self, text):
        rows, held = [], {}
        for line, values in _jsonl_rows(text):
            if isinstance(values, Rejection):
                self.rejections.append(values)
                continue
            work = self._clean(held, line, values)
            if work is not None:
                rows.append(work)
                self._tag(work[4], work[4])  # a cleaned work's tags are JSON already
            if len(rows) >= JSON_BATCH_ROWS:
                yield self._out("", self._staged(self._accept(rows, held)))
                rows, held = [], {}
        yield self._out("", self._staged(self._accept(rows, held)))

    # -- one batch --

    def _batch(self, names, index, columns, rows, lines, block):
        """Check a block's rows column by column; rows with a value that is not plain go through clean_row.
        `rows`: the rows as lists, if they were split so (else they are made from the columns when needed);
        `block`: the rows' own lines, staged as they are when the rows are taken as they are."""
        if not lines:
            return Batch("", [])
        n = len(lines)
        empty = ("",) * n

        def column(name):
            at = index.get(name)
            return empty if at is None else columns[at]

        suspects = set()
        for name in PLAIN:
            suspects.update(_not_plain(name, column(name), few=name in FEW_VALUES))
        kinds, durations, mimes = column("kind"), column("duration_seconds"), column("mime_type")
        # An image has no duration and a video has one; a type is of its work's kind.
        if not all(map(eq, map("image".__eq__, kinds), map(not_, durations))):
            suspects.update(i for i, (k, d) in enumerate(zip(kinds, durations)) if (k == "image") != (not d))
        if not all(map(str.startswith, mimes, map(add, kinds, repeat("/")))):
            suspects.update(i for i, (m, k) in enumerate(zip(mimes, kinds)) if not m.startswith(k + "/"))
        tags = column("tags")
        known = self.tag_json
        for value in set(tags).difference(known):
            self._tag(value, _tags_plain(value))
        if None in map(known.__getitem__, set(tags)):
            suspects.update(i for i, value in enumerate(tags) if known[value] is None)
        rights = column("rightsholders")
        if any(rights):
            suspects.update(i for i, value in enumerate(rights) if value)

        # The works as (line, external id, …, collection) for what follows, plain values as they are.
        works = list(zip(lines, *(column(name) for name in WORK)))
        held, cleaned = {}, set()
        if suspects:
            for i in suspects:
                row = rows[i] if rows is not None else [c[i] for c in columns]
                work = self._clean(held, lines[i], dict(zip(names, row)))
                works[i] = work
                if work is not None:
                    cleaned.add(work[0])
                    self._tag(work[4], work[4])  # a cleaned work's tags are JSON already
            works = [work for work in works if work is not None]
        taken = self._accept(works, held)
        if block is None:
            return self._out("", self._staged(taken))
        if len(taken) == n and not cleaned:  # every row taken as it is: the block's own lines
            return self._out(_numbered(lines, block), [])
        # The rows taken as they are keep their own lines; cleaned ones are written anew.
        base = lines[0]
        plain = [work[0] for work in taken if work[0] not in cleaned]
        return self._out(_numbered(plain, [block[line - base] for line in plain]),
                     self._staged([work for work in taken if work[0] in cleaned]))

    def _staged(self, works):
        """Works as tuples in the staging order (a column the works do not have, rightsholders, is empty)."""
        order = self._order
        return [(work[0], *("" if i is None else work[i] for i in order)) for work in works]

    def _clean(self, held, line, values):
        cleaned = clean_row(line, values)
        if isinstance(cleaned, Rejection):
            self.rejections.append(cleaned)
            return None
        work, shares = cleaned
        if shares is not None:
            held[line] = shares
        return work

    def _accept(self, works, held):
        """Refuse the works whose external id an earlier line has; hold those with rightsholders; note the
        contributors' names and the collections' first works of the rest, which are returned."""
        ids = list(map(itemgetter(1), works))
        seen = self.seen
        if len(set(ids)) == len(ids) and seen.keys().isdisjoint(ids):
            seen.update(zip(ids, map(itemgetter(0), works)))
        else:
            kept = []
            for work in works:
                first = seen.get(work[1])
                if first is not None:
                    self.rejections.append(Rejection(work[0], work[1],
                                                     f"external id {work[1]} is already on line {first}"))
                    held.pop(work[0], None)
                    continue
                seen[work[1]] = work[0]
                kept.append(work)
            works = kept
        if held:
            self.held.extend((work, held[work[0]]) for work in works if work[0] in held)
            works = [work for work in works if work[0] not in held]
        self._note(works)
        return works

    def _note(self, works):
        # The batch names the contributors the feed has not named before (the last name wins at the end).
        names = self.names
        self._names = {ext: name for ext, name in dict(zip(map(itemgetter(12), works), map(itemgetter(13), works))).items()
                       if ext not in names}
        names.update(zip(map(itemgetter(12), works), map(itemgetter(0, 13), works)))
        firsts = self.firsts
        backwards = works[::-1]
        self._firsts = {}
        for collection, first in dict(zip(map(itemgetter(14), backwards), map(itemgetter(0, 12), backwards))).items():
            if collection and collection not in firsts:
                firsts[collection] = first
                self._firsts[collection] = first[1]

    def _tag(self, text, json_text):
        """Note what a tags text means (None: refused); the next batch carries the new meanings."""
        if text not in self.tag_json:
            self.tag_json[text] = json_text
            if json_text is not None:
                self._new_tags.append((text, json_text))

    def _out(self, text, rows):
        batch = Batch(text, rows, self._names, self._firsts, self._new_tags)
        self._names, self._firsts, self._new_tags = {}, {}, []
        return batch

    # -- after the reading --

    def staged_tags(self):
        """(tags text, JSON) of every tags text the staged works may carry."""
        return [(text, json_text) for text, json_text in self.tag_json.items() if json_text is not None]

    def feed_contributors(self):
        """Every contributor the feed's taken works name, held ones included."""
        return set(self.names).union(work[12] for work, _ in self.held)

    def accept_held(self, works):
        """The held works that will be staged, as a Batch of tuples: their contributors' names and
        collections count from their lines, like every other work's."""
        for work in works:
            line, contributor, name, collection = work[0], work[12], work[13], work[14]
            if self.names.get(contributor, (0,))[0] < line:
                self.names[contributor] = (line, name)
            self._names.setdefault(contributor, name)
            if collection and self.firsts.get(collection, (line + 1,))[0] > line:
                self.firsts[collection] = (line, contributor)
                self._firsts.setdefault(collection, contributor)
            self._tag(work[4], work[4])
        return self._out("", self._staged(works))
