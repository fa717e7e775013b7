"""Usage reports and attribution royalties: uploading a report, processing it, and splitting its payments.

A report is read as a stream, in batches of lines: each batch is parsed, checked, and its outputs'
Shapley values computed in numpy (licensing/shapley.py), padded to the batch's most players. A
JSONL chunk is decoded and checked in one pass by msgspec, straight into typed records with integer
contributor ids and scores already bounded; a chunk msgspec refuses is read again line by line with
orjson, so that every bad line is named with its reason. A large report's blocks are decoded by decoder
processes (licensing/usage_lines.py) on the other cores while this one checks, splits and books the blocks
already decoded, in the file's order. Only per-contributor sums survive a batch,
so memory stays flat in the report's size (8 bytes per output are kept for the duplicate check). A
report with any rejected line books nothing: the job lists every rejected line (the first
REJECTIONS_KEPT of them) and stops there.

Money: the report's pool is the attribution rate × its revenue, in cents. The part the scores
explain, Σ pool_o × v_o(N), is split by Σ pool_o × φ_oi with the largest remainder over the whole
report, so each contributor's cents are fixed once, at processing; the rest falls back to the
licence's pro-rata split. The usage invoice bills the pool; each payment's net is split in the
same proportions, in SQL, by the split the pro-rata royalties use.

Formats (one output per record):
- JSONL: {"output_id": "o-1", "revenue": "12.50", "currency": "EUR", "scores": {"<contributor id>": 0.62},
  "asset_scores": {"<asset id>": 0.4}}; `currency` may be left out, a revenue has at most REVENUE_PLACES
  decimal places, `asset_scores` scores a work and counts for its contributor (a contributor scored twice
  in one output keeps the higher score).
- CSV: a header `output_id,revenue,currency,scores[,asset_scores]`, the score columns holding the same
  JSON objects. One row per output, so a report reads the same in both formats.
"""
import csv
import gc
import hashlib
import io
import math
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import chain
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import orjson
import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from licensing import formats, jobs, shapley, usage_lines
from licensing.db import for_set_based_work
from licensing.models import (
    Asset,
    Contributor,
    InvoiceReason,
    LicencePhase,
    Payment,
    RoyaltyEntry,
    RoyaltyPool,
    SliceItem,
    UsageReport,
    UsageReportFormat,
    UsageReportStatus,
    UsageShare,
)
from licensing.models.ai_models import counted_items_cte, table_of
from licensing.models.billing import round_money
from licensing.services.audit import audit
from licensing.services.billing import usage_invoice_issue
from licensing.selectors.attribution import attributed_payee_weights_sql, owners_with_rightsholders_sql
from licensing.services.royalties import cents_to_amount_sql, granted_payee_weights_sql, payment_net, split_sql
from licensing.usage_lines import MAX_OUTPUT_ID, MAX_REVENUE, MAX_SCORES, REVENUE_PLACES, Columns, exact_sum

log = structlog.get_logger(__name__)

BATCH_LINES = 50_000
BATCH_SCORES = 1_000_000  # a batch of wide outputs ends sooner: its lists of scores are Python objects
# Quadrature arrays hold rows × players × nodes floats: a batch of wide outputs is cut into chunks.
SHAPLEY_CHUNK_ELEMENTS = 1_000_000  # 8 MB: the in-place arrays stay nearer the cache
MAX_REPORT_BYTES = settings.USAGE_REPORT_MAX_BYTES


class UsageReportRefused(Exception):
    """An upload that cannot be taken; the message says why. Nothing was stored."""

    def __init__(self, message, *, fields=None):
        super().__init__(message)
        self.fields = fields or {}


# --- Upload -------------------------------------------------------------------------

def report_licence(*, version, licence_id=None):
    """The commercial licence a version's usage is reported under: the one given, or the only commercial
    licence of the organisation whose slices its declarations in force name."""
    organisation_id = version.model.organisation_id
    from_declarations = _declared_licence_ids(version)
    commercial = {licence.pk: licence for licence in version.model.organisation.licences.filter(
        phase=LicencePhase.COMMERCIAL)}
    if licence_id is not None:
        licence = commercial.get(int(licence_id))
        if licence is None:
            raise UsageReportRefused(gettext("Licence %(licence_id)s is not a commercial licence of your organisation.")
                                     % {"licence_id": licence_id},
                                     fields={"licence": [gettext("Not a commercial licence of yours.")]})
        return licence
    candidates = [commercial[pk] for pk in sorted(from_declarations) if pk in commercial]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UsageReportRefused(
            gettext("%(versioned_name)s was not declared trained on a slice of a commercial licence of "
                    "organisation %(organisation_id)s: usage is reported under a commercial licence.")
            % {"versioned_name": version.versioned_name, "organisation_id": organisation_id},
            fields={"licence": [gettext("No commercial licence trained this version.")]})
    raise UsageReportRefused(
        gettext("%(versioned_name)s was trained under licences %(items)s: say which one this report is for "
                "(licence).")
        % {"versioned_name": version.versioned_name,
           "items": ', '.join((str(c.pk) for c in candidates))}, fields={"licence": [gettext("Say which licence.")]})


def _declared_licence_ids(version):
    sql = f"""
        SELECT DISTINCT s.licence_id FROM {table_of('declaration')} d JOIN {table_of('slice')} s ON s.id = d.slice_id
        WHERE d.version_id = %s
          AND NOT EXISTS (SELECT 1 FROM {table_of('declaration')} n WHERE n.supersedes_id = d.id)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [version.pk])
        return {row[0] for row in cursor.fetchall()}


def report_format(name, content_type=""):
    name, content_type = (name or "").lower(), (content_type or "").lower()
    if name.endswith(".csv") or "csv" in content_type:
        return UsageReportFormat.CSV
    return UsageReportFormat.JSONL


def usage_report_upload(*, version, upload, reference, period_start, period_end, by=None, api_key=None,
                        licence_id=None, file_format=None):
    """Store the report and schedule its processing. Returns (report, created): a reference sent before
    answers with that report and changes nothing."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise UsageReportRefused(gettext("Give the report a reference of 1 to 100 characters: your own id for it."),
                                 fields={"reference": [gettext("1 to 100 characters.")]})
    if period_start is None or period_end is None or period_start > period_end:
        raise UsageReportRefused(gettext("The period must start on or before its end."),
                                 fields={"period_end": [gettext("Before the start.")]})
    licence = report_licence(version=version, licence_id=licence_id)
    existing = UsageReport.objects.filter(licence=licence, reference=reference).first()
    if existing is not None:
        return existing, False
    if upload is None or not upload.size:
        raise UsageReportRefused(gettext("The report is empty: send one line per output."),
                                 fields={"file": [gettext("Empty.")]})
    if upload.size > MAX_REPORT_BYTES:
        raise UsageReportRefused(gettext("The report is larger than %(bytes)s bytes: split it by period.")
                                 % {"bytes": formats.count(MAX_REPORT_BYTES)},
                                 fields={"file": [gettext("Too large.")]})
    file_format = file_format or report_format(getattr(upload, "name", ""), getattr(upload, "content_type", ""))
    if file_format not in UsageReportFormat.values:
        raise UsageReportRefused(gettext("The format must be jsonl or csv."),
                                 fields={"format": [gettext("jsonl or csv.")]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    key = default_storage.save(f"usage-reports/{licence.pk}/{uuid.uuid4().hex}.{file_format}", upload)
    try:
        with transaction.atomic():
            report = UsageReport.objects.create(
                version=version, licence=licence, reference=reference, period_start=period_start,
                period_end=period_end, file=key, format=file_format, bytes=upload.size, sha256=digest.hexdigest(),
                currency=licence.offer_currency, attribution_rate=licence.offer_attribution_rate,
                uploaded_by=by if getattr(by, "pk", None) else None, api_key=api_key,
            )
            audit(actor=by, organisation=licence.organisation, action="usage_report.upload", target=report,
                  api_key=api_key, payload={"reference": reference, "version": version.pk, "bytes": upload.size})
            jobs.schedule("usage_report.process", report_id=report.pk, dedupe=f"usage_report.process:{report.pk}")
    except IntegrityError:
        default_storage.delete(key)
        return UsageReport.objects.get(licence=licence, reference=reference), False
    log.info("usage_report_uploaded", report=report.pk, bytes=upload.size)
    return report, True


# --- Reading ------------------------------------------------------------------------

READ_BYTES = 4 * 2 ** 20  # a JSONL report is read and parsed this much at a time
CSV_CHUNK_RECORDS = 20_000
_block_columns = usage_lines.block_columns


def records(report, *, opened=None):
    """(line number, record) for every record of the stored file, record being a dict or an error message.
    `opened(handle)` is told the binary file, for the progress its position gives."""
    for chunk in record_chunks(report, opened=opened):
        yield from chunk


def record_chunks(report, *, opened=None, columns=False):
    """The file's records, (line number, record) as `records` gives them, in lists of a few MB of the file.
    A JSONL chunk's lines are parsed in one pass; a chunk with a line that does not parse is parsed
    again line by line, for that line's error. With `columns`, a JSONL chunk whose every line passes
    the checks comes as one `Columns` instead."""
    with default_storage.open(report.file, "rb") as handle:
        if opened is not None:
            opened(handle)
        if report.format == UsageReportFormat.CSV:
            chunk = []
            for item in _csv_records(handle):
                chunk.append(item)
                if len(chunk) >= CSV_CHUNK_RECORDS:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
            return
        for first, block, count, decoded in _decoded_blocks(handle, report, columns):
            if decoded is not None:
                yield decoded
                continue
            numbers, lines = _block_lines(first, block)
            if not lines:
                continue
            try:
                parsed = list(map(orjson.loads, lines))
            except orjson.JSONDecodeError:
                parsed = None
            if parsed is not None:
                yield list(zip(numbers, parsed))
                continue
            chunk = []
            for number, raw in zip(numbers, lines):
                try:
                    chunk.append((number, orjson.loads(raw)))
                except orjson.JSONDecodeError as error:
                    chunk.append((number, f"bad JSON: {error}"))
            yield chunk


def _decoded_blocks(handle, report, columns):
    """(first line number, block, line count, Columns or None) per block of a JSONL report: None for every
    block without `columns`, and for a block with a line for the careful path."""
    blocks = _jsonl_blocks(handle)
    decoders = settings.ATTRIBUTION_DECODERS
    if not columns:
        for first, block, count, _ in blocks:
            yield first, block, count, None
    elif decoders and report.bytes >= settings.ATTRIBUTION_DECODERS_FROM_BYTES:
        # Decoder processes (licensing/usage_lines.py) decode the next blocks while this one books.
        with usage_lines.Decoders(decoders, path=_local_path(report.file)) as started:
            yield from started.decoded(blocks, report.currency)
    else:
        for first, block, count, _ in blocks:
            yield first, block, count, _block_columns(first, block, count, report.currency)


def _local_path(name):
    """The stored file's path on this machine's disk, which decoders read themselves; None for object storage,
    whose blocks are sent to them."""
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


def _jsonl_blocks(handle):
    """(number of its first line, block, how many lines, its offset in the file) for the file READ_BYTES at a
    time, each block ending at the end of a line (but the file's last). Lines end as a file iterated in Python
    ends them: at \n, \r\n or \r; a block is cut after a \n, so that a \r\n is never split."""
    number, offset, carry = 0, 0, b""
    while True:
        read = handle.read(READ_BYTES)
        if not read:
            break
        data = carry + read
        cut = data.rfind(b"\n") + 1
        if not cut:
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        count = block.count(b"\n") if b"\r" not in block else len(block.splitlines())
        yield number + 1, block, count, offset
        number, offset = number + count, offset + cut
    if carry:
        yield number + 1, carry, len(carry.splitlines()), offset


def _block_lines(first, block):
    """(line numbers, lines) of a block's non-blank lines: blank lines are skipped, and keep their numbers."""
    pieces = block.splitlines(keepends=True)
    numbers = range(first, first + len(pieces))
    if not all(map(bytes.strip, pieces)):
        kept = [(n, piece) for n, piece in zip(numbers, pieces) if piece.strip()]
        numbers, pieces = zip(*kept) if kept else ((), ())
    return list(numbers), list(pieces)


def _csv_records(handle):
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as error:
        yield 1, f"bad CSV: {error}"
        return
    header = [name.strip() for name in header or []]
    if "output_id" not in header or "scores" not in header:
        yield 1, "bad CSV header: the columns are output_id, revenue, currency, scores (and asset_scores)"
        return
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except (UnicodeDecodeError, csv.Error) as error:
            yield start, f"bad CSV: {error}"
            return
        number, start = start, reader.line_num + 1
        if not row:
            continue
        record = dict(zip(header, row))
        for column in ("scores", "asset_scores"):
            value = record.get(column)
            if value in (None, ""):
                record.pop(column, None)
                continue
            try:
                record[column] = orjson.loads(value)
            except orjson.JSONDecodeError as error:
                record = f"bad JSON in {column}: {error}"
                break
        if isinstance(record, dict) and record.get("currency") == "":
            record.pop("currency")
        yield number, record


def _revenue(value):
    kind = type(value)
    if kind is not str and kind is not int and kind is not float:
        return None
    try:
        revenue = Decimal(repr(value)) if kind is float else Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return revenue if revenue.is_finite() else None


def _check_record(record, currency):
    """The record's (output id, revenue) or the reason it is rejected. Scores are checked by the batch."""
    if type(record) is not dict:
        return record if isinstance(record, str) else "bad JSON: a line must be an object"
    output_id, revenue = record.get("output_id"), record.get("revenue")
    if type(output_id) is not str:
        if type(output_id) is not int:
            return "no output_id"
        output_id = str(output_id)
    if not 0 < len(output_id) <= MAX_OUTPUT_ID or not output_id.strip():
        return "no output_id" if not output_id.strip() else f"output_id longer than {MAX_OUTPUT_ID} characters"
    if "\x00" in output_id:  # no database text holds one
        return "output_id holds a NUL character"
    revenue = _revenue(revenue)
    if revenue is None:
        return "revenue is not a number"
    if not 0 <= revenue <= MAX_REVENUE:
        return f"negative revenue ({revenue})" if revenue < 0 else f"revenue above {MAX_REVENUE:,} for one output"
    if revenue.as_tuple().exponent < -REVENUE_PLACES:
        return f"revenue {str(revenue)[:40]} has more than {REVENUE_PLACES} decimal places"
    if "currency" in record and record["currency"] != currency:
        return f"wrong currency {str(record.get('currency'))[:10]!r}: the licence is paid in {currency}"
    for column in ("scores", "asset_scores"):
        scores = record.get(column)
        if scores is None:
            continue
        if type(scores) is not dict:
            return f"{column} must be an object of id → score"
        if len(scores) > MAX_SCORES:
            return f"more than {MAX_SCORES:,} {column} in one output"
    return output_id, revenue


def _bad_score(key, value, known, kind):
    """Why one score is refused, or None. `known(key)` says whether the key names a contributor or asset."""
    try:
        number = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    except OverflowError:  # an integer no float holds
        number = False
    if not number:
        return f"score of {kind} {key[:20]} is not a number"
    if not 0 <= value <= 1:
        return f"score outside [0, 1]: {value} for {kind} {key[:20]}"
    if not known(key):
        return f"unknown {kind} {key[:20]}"
    return None


@dataclass
class Batch:
    lines: list = field(default_factory=list)
    output_ids: list = field(default_factory=list)
    revenues: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    values: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    asset_rows: list = field(default_factory=list)
    asset_keys: list = field(default_factory=list)
    asset_values: list = field(default_factory=list)
    # A batch of decoded chunks holds their contributor ids, scores and revenues as arrays instead of `keys`,
    # `values` and `revenues` (and the revenues' exact sums).
    id_parts: list = field(default_factory=list)
    value_parts: list = field(default_factory=list)
    revenue_parts: list = field(default_factory=list)
    revenue_sums: list = field(default_factory=list)

    @property
    def columnar(self):
        return bool(self.id_parts)

    @property
    def score_count(self):
        return sum(map(len, self.id_parts)) if self.id_parts else len(self.values)


@dataclass
class Totals:
    """What the processing keeps between batches: per contributor (by position in `known`), and per report."""

    size: int
    amounts: np.ndarray = None
    outputs: np.ndarray = None
    score_sums: np.ndarray = None
    shapley_sums: np.ndarray = None
    best: np.ndarray = None
    best_line: np.ndarray = None
    best_output: np.ndarray = None
    revenue: Decimal = Decimal("0")
    output_count: int = 0
    score_count: int = 0
    zeroed: int = 0
    rejected: int = 0
    rejections: list = field(default_factory=list)
    hashes: list = field(default_factory=list)
    hash_lines: list = field(default_factory=list)

    def __post_init__(self):
        self.amounts = np.zeros(self.size)
        self.outputs = np.zeros(self.size, dtype=np.int64)
        self.score_sums = np.zeros(self.size)
        self.shapley_sums = np.zeros(self.size)
        self.best = np.full(self.size, -1.0)
        self.best_line = np.zeros(self.size, dtype=np.int64)
        self.best_output = np.full(self.size, "", dtype=object)

    def reject(self, line, reason):
        self.rejected += 1
        if len(self.rejections) < UsageReport.REJECTIONS_KEPT:
            self.rejections.append({"line": line, "reason": reason})


_EXECUTOR = []


def _executor():
    if not _EXECUTOR:
        _EXECUTOR.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-report"))
    return _EXECUTOR[0]


class Catalogue:
    """Who may be scored (every contributor) and whose works trained the version (its declarations in force).
    Contributors are numbered by their place in `known`.

    Which contributors trained the version is one query over every declared item (a second or more for a
    slice of a million): outside a transaction it runs on a connection of its own while the first batches are
    read and checked, which need only `known`."""

    def __init__(self, version):
        self.known = np.fromiter(Contributor.objects.order_by("pk").values_list("pk", flat=True), dtype=np.int64)
        self._known_set = None
        self._places = None
        self._trained = None
        if connection.in_atomic_block or connection.vendor != "postgresql":
            # Another connection would not see this transaction's rows, and SQLite allows one writer.
            self._trained, self._query = self._trained_mask(version.pk, close=False), None
        else:
            self._query = _executor().submit(self._trained_mask, version.pk, close=True)

    def _trained_mask(self, version_id, *, close):
        sql = f"""
            WITH {counted_items_cte("v.id = %(version)s")}
            SELECT DISTINCT a.contributor_id FROM used u JOIN {table_of('asset')} a ON a.id = u.asset_id
            WHERE u.counted = 1
        """
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, {"version": version_id})
                trained = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
        finally:
            if close:
                connection.close()
        mask = np.zeros(len(self.known), dtype=bool)
        mask[self.position(np.sort(trained))] = True
        return mask

    @property
    def ready(self):
        return self._trained is not None or self._query.done()

    @property
    def trained(self):
        if self._trained is None:
            self._trained = self._query.result()
        return self._trained

    def position(self, ids):
        return np.searchsorted(self.known, ids)

    def positions_of_keys(self, keys):
        """Places of the contributors the keys name (ids as Python reads an integer); ValueError when one
        names no contributor."""
        return self.positions_of_ids(np.fromiter(map(int, keys), dtype=np.int64, count=len(keys)))

    def positions_of_ids(self, ids):
        """Places of the contributors with these ids; ValueError when one is no contributor's."""
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        if not len(self.known):
            raise ValueError("an unknown contributor")
        table = self._place_table()
        if table is not None:
            # Ten million scores looked up by index instead of by binary search: a tenth of the time.
            if ids.min() < 0 or ids.max() >= len(table):
                raise ValueError("an unknown contributor")
            positions = table[ids]
            if positions.min() < 0:
                raise ValueError("an unknown contributor")
            return positions.astype(np.int64)
        positions = np.minimum(self.position(ids), len(self.known) - 1)
        if not np.array_equal(self.known[positions], ids):
            raise ValueError("an unknown contributor")
        return positions

    def _place_table(self):
        """Each contributor id's place in `known` (-1 for no contributor), when the ids are dense enough for
        the table to stay small: at most four entries per contributor, and PLACE_TABLE_MAX in all."""
        if self._places is None:
            top = int(self.known[-1]) + 1
            if top > min(PLACE_TABLE_MAX, max(1_000_000, 4 * len(self.known))):
                self._places = False
            else:
                self._places = np.full(top, -1, dtype=np.int32)
                self._places[self.known] = np.arange(len(self.known), dtype=np.int32)
        return self._places if self._places is not False else None

    def knows_key(self, key):
        if self._known_set is None:
            self._known_set = set(self.known.tolist())
        try:
            return int(key) in self._known_set
        except (ValueError, OverflowError):
            return False


def _read_batch(batch, catalogue, totals):
    """Check a batch of records; returns (rows, contributor positions, scores) of its outputs or None when
    a line is rejected (then every line of the batch has been checked and reported)."""
    counts = np.asarray(batch.counts, dtype=np.int64)
    try:
        types = set(map(type, batch.asset_values))
        if batch.columnar:
            values = np.concatenate(batch.value_parts)
            positions = catalogue.positions_of_ids(np.concatenate(batch.id_parts))
        else:
            types |= set(map(type, batch.values))
            values = np.asarray(batch.values, dtype=np.float64)
            positions = catalogue.positions_of_keys(batch.keys)
        if not types <= {int, float}:
            raise ValueError("a score is not a number")
        if len(values) and (not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1):
            raise ValueError("a score is outside [0, 1]")
        rows = np.repeat(np.arange(len(counts)), counts)
        if batch.asset_keys:
            asset_rows, asset_ids, asset_values = _asset_scores(batch)
            rows = np.concatenate([rows, asset_rows])
            positions = np.concatenate([positions, catalogue.position(asset_ids)])
            values = np.concatenate([values, asset_values])
    except (ValueError, OverflowError, TypeError):
        if batch.columnar:
            batch.keys = list(map(str, np.concatenate(batch.id_parts).tolist()))
            batch.values = np.concatenate(batch.value_parts).tolist()
        _reject_scores(batch, catalogue, totals)
        return None
    # Exact, so that the report's revenue does not depend on how its lines fell into blocks and batches.
    if batch.columnar:
        totals.revenue = exact_sum(batch.revenue_sums, totals.revenue)
        revenues = np.concatenate(batch.revenue_parts)
    else:
        totals.revenue = exact_sum(batch.revenues, totals.revenue)
        revenues = np.fromiter(map(float, batch.revenues), dtype=np.float64, count=len(batch.revenues))
    totals.output_count += len(counts)
    totals.score_count += len(values)
    return Checked(rows=rows, positions=positions, values=values, outputs=len(counts), revenues=revenues,
                   lines=np.asarray(batch.lines, dtype=np.int64),
                   output_ids=np.asarray(batch.output_ids, dtype=object), by_asset=bool(batch.asset_keys))


@dataclass
class Checked:
    """A batch that passed its checks, compact (numpy), waiting to be split."""

    rows: np.ndarray
    positions: np.ndarray
    values: np.ndarray
    outputs: int
    revenues: np.ndarray
    lines: np.ndarray
    output_ids: np.ndarray
    by_asset: bool


def _asset_scores(batch):
    values = np.asarray(batch.asset_values, dtype=np.float64)
    if len(values) and (not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1):
        raise ValueError("an asset score is outside [0, 1]")
    ids = [int(key) for key in set(batch.asset_keys) if key.isdigit() and len(key) < 19]
    owners = {str(pk): contributor for pk, contributor in
              Asset.objects.filter(pk__in=ids).values_list("pk", "contributor_id")}
    contributors = np.fromiter(map(owners.get, batch.asset_keys), dtype=np.int64, count=len(batch.asset_keys))
    return np.asarray(batch.asset_rows, dtype=np.int64), contributors, values


def _highest_per_contributor(rows, positions, values):
    order = np.lexsort((-values, positions, rows))
    rows, positions, values = rows[order], positions[order], values[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (positions[1:] != positions[:-1])
    return rows[first], positions[first], values[first]


def _reject_scores(batch, catalogue, totals):
    """The slow path, line by line, for a batch the vectorised checks refused: say which lines, and why."""
    asset_keys_by_row = {}
    for row, key, value in zip(batch.asset_rows, batch.asset_keys, batch.asset_values):
        asset_keys_by_row.setdefault(row, []).append((key, value))
    assets = {a for a, _ in (kv for kvs in asset_keys_by_row.values() for kv in kvs) if a.isdigit() and len(a) < 18}
    known_assets = {str(pk) for pk in Asset.objects.filter(pk__in=[int(a) for a in assets]).values_list("pk", flat=True)}
    offset = 0
    for row, (line, count) in enumerate(zip(batch.lines, batch.counts)):
        reason = None
        for key, value in zip(batch.keys[offset:offset + count], batch.values[offset:offset + count]):
            reason = _bad_score(key, value, catalogue.knows_key, "contributor")
            if reason:
                break
        if reason is None:
            for key, value in asset_keys_by_row.get(row, []):
                reason = _bad_score(key, value, known_assets.__contains__, "asset")
                if reason:
                    break
        if reason:
            totals.reject(line, reason)
        offset += count


def _shapley(rows, positions, values, output_count):
    """Per score, its output's φ, and per output v(N): the batch padded to its most players, in chunks."""
    if not len(rows):
        return np.zeros(0), np.zeros(output_count)
    counts = np.bincount(rows, minlength=output_count)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    columns = np.arange(len(rows)) - starts[rows]
    width = int(counts.max())
    matrix = np.zeros((output_count, width))
    matrix[rows, columns] = values
    phi = np.empty_like(matrix)
    nodes = max(1, math.ceil(width / 2))
    chunk = max(1, SHAPLEY_CHUNK_ELEMENTS // (width * nodes))
    for start in range(0, output_count, chunk):
        phi[start:start + chunk] = shapley.shapley_values(matrix[start:start + chunk])
    return phi[rows, columns], phi.sum(axis=1)


def _book_batch(checked, catalogue, totals, rate):
    rows, positions, values = checked.rows, checked.positions, checked.values
    trained = catalogue.trained[positions]
    totals.zeroed += int(np.count_nonzero(~trained & (values > 0)))
    keep = trained & (values > 0)
    rows, positions, values = rows[keep], positions[keep], values[keep]
    if checked.by_asset:
        rows, positions, values = _highest_per_contributor(rows, positions, values)
    phi, _ = _shapley(rows, positions, values, checked.outputs)
    pools = checked.revenues * (rate * 100.0)  # cents
    amounts = pools[rows] * phi
    size = totals.size
    totals.amounts += np.bincount(positions, weights=amounts, minlength=size)
    totals.outputs += np.bincount(positions, minlength=size)
    totals.score_sums += np.bincount(positions, weights=values, minlength=size)
    totals.shapley_sums += np.bincount(positions, weights=phi, minlength=size)
    if len(rows):
        # Each contributor's largest amount of the batch, the latest of equal ones: found per contributor
        # (ufunc.at), not by sorting the batch's ten million amounts.
        most = np.full(size, -np.inf)
        np.maximum.at(most, positions, amounts)
        reaching = np.flatnonzero(amounts == most[positions])
        largest = np.full(size, -1, dtype=np.int64)
        np.maximum.at(largest, positions[reaching], reaching)
        top = largest[largest >= 0]
        top = top[amounts[top] > totals.best[positions[top]]]
        won = positions[top]
        totals.best[won] = amounts[top]
        totals.best_line[won] = checked.lines[rows[top]]
        totals.best_output[won] = checked.output_ids[rows[top]]


def _note_output_ids(batch, totals):
    # Python's str hash is stable within the process that reads the whole report: 8 bytes per output
    # instead of the ids themselves.
    totals.hashes.append(np.fromiter(map(hash, batch.output_ids), dtype=np.int64, count=len(batch.output_ids)))
    totals.hash_lines.append(np.asarray(batch.lines, dtype=np.int64))


def _reject_duplicates(totals):
    if not totals.hashes:
        return
    hashes, lines = np.concatenate(totals.hashes), np.concatenate(totals.hash_lines)
    totals.hashes, totals.hash_lines = [], []
    order = np.lexsort((lines, hashes))
    hashes, lines = hashes[order], lines[order]
    repeated = np.flatnonzero(hashes[1:] == hashes[:-1]) + 1
    if not len(repeated):
        return
    first_seen = {}
    for index in repeated.tolist():
        first_seen.setdefault(int(hashes[index]), int(lines[index - 1]))
        totals.reject(int(lines[index]), f"duplicate output id (first on line {first_seen[int(hashes[index])]})")
    totals.rejections.sort(key=lambda r: r["line"])


def _progress(report, lines, handle):
    try:
        percent = min(99, int(100 * handle.tell() / max(report.bytes, 1)))
    except (OSError, ValueError):
        percent = 0
    UsageReport.objects.filter(pk=report.pk).update(lines_read=lines, progress=percent)


def _add_record(batch, totals, number, record, currency):
    """One record into the batch, or its line rejected with the reason."""
    checked = _check_record(record, currency)
    if isinstance(checked, str):
        totals.reject(number, checked)
        return
    output_id, revenue = checked
    scores, asset_scores = record.get("scores") or {}, record.get("asset_scores")
    batch.lines.append(number)
    batch.output_ids.append(output_id)
    batch.revenues.append(revenue)
    batch.keys.extend(scores)
    batch.values.extend(scores.values())
    batch.counts.append(len(scores))
    if asset_scores:
        row = len(batch.counts) - 1
        batch.asset_rows.extend([row] * len(asset_scores))
        batch.asset_keys.extend(asset_scores)
        batch.asset_values.extend(asset_scores.values())


_NOTHING = object()


def _add_records(batch, chunk, currency):
    """A chunk of records into the batch at once, when every record passes what `_check_record` checks (in
    the common form: output ids and revenues given as strings); False, and the batch untouched, otherwise,
    for the chunk to be taken record by record. Scores are checked by the batch either way."""
    numbers, recs = zip(*chunk)
    if set(map(type, recs)) != {dict}:
        return False
    output_ids = [r.get("output_id") for r in recs]
    revenues = [r.get("revenue") for r in recs]
    scores = [r.get("scores") for r in recs]
    asset_scores = [r.get("asset_scores") for r in recs]
    try:
        if (set(map(type, output_ids)) != {str} or set(map(type, revenues)) != {str}
                or {r.get("currency", _NOTHING) for r in recs} - {currency, _NOTHING}
                or not set(map(type, scores)) <= {dict, type(None)}
                or not set(map(type, asset_scores)) <= {dict, type(None)}):
            return False
        lengths = np.fromiter(map(len, output_ids), dtype=np.int64, count=len(output_ids))
        if (lengths.min() < 1 or lengths.max() > MAX_OUTPUT_ID or any(map(str.isspace, output_ids))
                or "\x00" in "".join(output_ids)):
            return False
        revenues = list(map(Decimal, revenues))
        if (not all(map(Decimal.is_finite, revenues)) or min(revenues) < 0 or max(revenues) > MAX_REVENUE
                or usage_lines.revenue_sum(revenues) is None):
            return False
    except (InvalidOperation, TypeError, ValueError):
        return False
    scores = [s or {} for s in scores]
    counts = list(map(len, scores))
    if max(counts) > MAX_SCORES or any(a is not None and len(a) > MAX_SCORES for a in asset_scores):
        return False
    batch.lines.extend(numbers)
    batch.output_ids.extend(output_ids)
    batch.revenues.extend(revenues)
    batch.keys.extend(chain.from_iterable(scores))
    batch.values.extend(chain.from_iterable(map(dict.values, scores)))
    first = len(batch.counts)
    batch.counts.extend(counts)
    for row, by_asset in enumerate(asset_scores, start=first):
        if by_asset:
            batch.asset_rows.extend([row] * len(by_asset))
            batch.asset_keys.extend(by_asset)
            batch.asset_values.extend(by_asset.values())
    return True


def _add_columns(batch, columns):
    first = len(batch.counts)
    batch.lines.extend(columns.lines)
    batch.output_ids.extend(columns.output_ids)
    batch.revenue_parts.append(columns.revenue_floats)
    batch.revenue_sums.append(columns.revenue_sum)
    batch.counts.extend(columns.counts)
    batch.id_parts.append(columns.ids)
    batch.value_parts.append(columns.values)
    for row, by_asset in enumerate(columns.asset_scores, start=first):
        if by_asset:
            batch.asset_rows.extend([row] * len(by_asset))
            batch.asset_keys.extend(map(str, by_asset))
            batch.asset_values.extend(by_asset.values())


@contextmanager
def _without_cycle_collection():
    """Python's cycle collector off while a report is read: parsing builds millions of objects, none in a
    cycle, and the collector would walk them again and again (half the time of reading)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def usage_report_process(*, report_id):
    """The job: read the report, split it, record the shares and issue the usage invoice. A report already
    processed or rejected is left as it is; a run that died half-way is simply run again."""
    claimed = UsageReport.objects.filter(
        pk=report_id, status__in=[UsageReportStatus.RECEIVED, UsageReportStatus.PROCESSING]
    ).update(status=UsageReportStatus.PROCESSING)
    report = UsageReport.objects.select_related("version__model", "licence__organisation").filter(pk=report_id).first()
    if not claimed or report is None:
        return report
    catalogue = Catalogue(report.version)
    totals = Totals(size=len(catalogue.known))
    rate = float(report.attribution_rate)
    batch, lines, opened, waiting = Batch(), 0, [], []
    try:
        with _without_cycle_collection():
            for chunk in record_chunks(report, opened=opened.append, columns=True):
                decoded = isinstance(chunk, Columns)
                if batch.lines and batch.columnar != decoded:  # a batch holds one kind of chunk
                    _finish_batch(batch, catalogue, totals, rate, waiting)
                    batch = Batch()
                if decoded:
                    lines = chunk.lines[-1]
                    _add_columns(batch, chunk)
                else:
                    lines = chunk[-1][0]
                    if not _add_records(batch, chunk, report.currency):
                        for number, record in chunk:
                            _add_record(batch, totals, number, record, report.currency)
                if len(batch.lines) >= BATCH_LINES or batch.score_count >= BATCH_SCORES:
                    _finish_batch(batch, catalogue, totals, rate, waiting)
                    batch = Batch()
                    _progress(report, lines, opened[0])
            _finish_batch(batch, catalogue, totals, rate, waiting, last=True)
    except (OSError, UnicodeDecodeError) as error:
        totals.reject(lines + 1, f"unreadable: {error}")
    _reject_duplicates(totals)
    if not totals.output_count and not totals.rejected:
        totals.reject(1, "no outputs: the report holds no lines")
    if totals.rejected:
        return _reject(report, totals, lines)
    return _accept(report, totals, lines, catalogue.known)


MAX_WAITING_BATCHES = 8
PLACE_TABLE_MAX = 20_000_000  # entries (80 MB); beyond, places are found by binary search


def _finish_batch(batch, catalogue, totals, rate, waiting, *, last=False):
    """Check the batch; split it and the batches that waited once the version's trained contributors are known."""
    if batch.lines:
        _note_output_ids(batch, totals)
        checked = _read_batch(batch, catalogue, totals)
        if totals.rejected:  # a rejected report books nothing: only checking goes on
            waiting.clear()
        elif checked is not None:
            waiting.append(checked)
    while waiting and (last or catalogue.ready or len(waiting) >= MAX_WAITING_BATCHES):
        _book_batch(waiting.pop(0), catalogue, totals, rate)


def _reject(report, totals, lines):
    with transaction.atomic():
        UsageReport.objects.filter(pk=report.pk).update(
            status=UsageReportStatus.REJECTED, lines_read=lines, progress=100, rejected_count=totals.rejected,
            rejected_lines=totals.rejections, processed_at=timezone.now(),
            error=f"{totals.rejected:,} line(s) rejected: the report was not booked. Correct them and send it again "
                  "under a new reference.")
        audit(actor=None, organisation=report.licence.organisation, action="usage_report.reject", target=report,
              payload={"rejected": totals.rejected, "first": totals.rejections[:5]})
    log.info("usage_report_rejected", report=report.pk, rejected=totals.rejected)
    report.refresh_from_db()
    return report


def report_cents(totals, pool_cents):
    """Whole cents per contributor of the explained part of the pool, by largest remainder over the report."""
    amounts = totals.amounts
    scored = np.flatnonzero(amounts > 0)
    exact = amounts[scored]
    if not len(exact):
        return scored, np.zeros(0, dtype=np.int64)
    if exact.sum() > pool_cents:  # float error in a pool the scores explain all of
        exact = exact * (pool_cents / exact.sum())
    floors = int(np.floor(exact).sum())
    attributed = min(max(int(round(float(exact.sum()))), floors), floors + len(exact), pool_cents)
    return scored, shapley.largest_remainder(exact, attributed)


def _accept(report, totals, lines, contributor_ids):
    pool = round_money(report.attribution_rate * totals.revenue)
    pool_cents = int(pool * 100)
    positions, cents = report_cents(totals, pool_cents)
    attributed_cents = int(cents.sum())
    shares = list(zip(
        [report.pk] * len(positions), contributor_ids[positions].tolist(), totals.outputs[positions].tolist(),
        totals.score_sums[positions].tolist(), totals.shapley_sums[positions].tolist(), cents.tolist(),
        totals.best_line[positions].tolist(), [str(o)[:MAX_OUTPUT_ID] for o in totals.best_output[positions]],
    ))
    with transaction.atomic():
        locked = UsageReport.objects.select_for_update().get(pk=report.pk)
        if locked.status != UsageReportStatus.PROCESSING:
            return locked
        UsageShare.objects.filter(report=locked).delete()
        _write_shares(shares)
        locked.status, locked.processed_at = UsageReportStatus.PROCESSED, timezone.now()
        locked.progress = 100
        locked.lines_read, locked.outputs, locked.scores = lines, totals.output_count, totals.score_count
        locked.zeroed_scores, locked.revenue = totals.zeroed, round_money(totals.revenue)
        locked.pool = pool
        locked.attributed = Decimal(attributed_cents) / 100
        locked.unexplained = Decimal(pool_cents - attributed_cents) / 100
        locked.contributor_count = len(shares)
        locked.rejected_count, locked.rejected_lines, locked.error = 0, [], ""
        locked.invoice = usage_invoice_issue(report=locked) if pool_cents > 0 else None
        locked.save()
        audit(actor=None, organisation=locked.licence.organisation, action="usage_report.process", target=locked,
              payload={"outputs": locked.outputs, "pool": locked.pool, "attributed": locked.attributed,
                       "zeroed": locked.zeroed_scores, "invoice": locked.invoice_id})
    log.info("usage_report_processed", report=report.pk, outputs=totals.output_count, pool=str(pool))
    return locked


SHARE_COLUMNS = ("report_id", "contributor_id", "outputs", "score_sum", "shapley_sum", "cents", "top_line",
                 "top_output")


def _write_shares(shares):
    """One row per scored contributor (100,000 for a big report): COPY on PostgreSQL, bulk INSERT elsewhere."""
    if connection.vendor != "postgresql":
        UsageShare.objects.bulk_create([UsageShare(**dict(zip(SHARE_COLUMNS, row))) for row in shares],
                                       batch_size=2000)
        return
    # COPY's text format, written out here in one pass: adapting 100,000 rows value by value costs more.
    text = "".join(
        f"{report}\t{contributor}\t{outputs}\t{score_sum!r}\t{shapley_sum!r}\t{cents}\t{line}\t"
        f"{output.translate(_COPY_ESCAPES)}\n"
        for report, contributor, outputs, score_sum, shapley_sum, cents, line, output in shares)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {UsageShare._meta.db_table} ({', '.join(SHARE_COLUMNS)}) FROM STDIN") as copy:
        copy.write(text.encode())


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


# --- Paying the contributors ---------------------------------------------------------

def attribution_pool_create(*, payment_id):
    """The pool of a usage invoice's payment: all of its net goes to the contributors, the explained part by
    their report's cents, the rest pro rata to the licence's grants. One pool per payment."""
    payment = Payment.objects.select_related("invoice__licence").filter(pk=payment_id).first()
    if payment is None or payment.invoice.reason != InvoiceReason.USAGE:
        return None
    report = UsageReport.objects.filter(invoice_id=payment.invoice_id).first()
    if report is None:
        return None
    existing = RoyaltyPool.objects.filter(payment=payment).first()
    if existing is not None:
        return existing
    net = payment_net(payment)
    cents = int(net * 100)
    pool_cents = int(report.pool * 100)
    attributed_cents = int(report.attributed * 100)
    has_grants = SliceItem.objects.filter(licence_id=report.licence_id, withdrawn_at__isnull=True).exists()
    attributed = cents * attributed_cents // pool_cents if pool_cents else 0
    if not has_grants and attributed_cents:
        attributed = cents
    rest = cents - attributed
    now = timezone.now()
    common = {"licence_id": "%(licence)s", "pool_id": "%(pool)s", "credit_note_id": "NULL",
              "usage_report_id": "%(report)s", "currency": "%(currency)s", "created_at": "%(now)s"}
    try:
        with transaction.atomic():
            pool = RoyaltyPool.objects.create(payment=payment, licence=report.licence, currency=payment.currency,
                                              net_amount=net, share=Decimal("1"), amount=net)
            params = {"licence": report.licence_id, "pool": pool.pk, "report": report.pk,
                      "currency": pool.currency, "now": now}
            with connection.cursor() as cursor:
                for_set_based_work(cursor)
                into = {**common, "reason": "'attribution'"}
                cursor.execute(f"SELECT EXISTS ({owners_with_rightsholders_sql()})", params)
                shared = cursor.fetchone()[0]
                if attributed > 0 and shared:
                    cursor.execute(_attribution_to_rightsholders_sql(
                        attributed=attributed, whole=attributed == attributed_cents, into=into),
                        {**params, "version": report.version_id})
                elif attributed > 0 and attributed == attributed_cents:
                    # The whole report paid: each contributor gets their cents of it as they stand.
                    cursor.execute(
                        f"INSERT INTO {RoyaltyEntry._meta.db_table} (contributor_id, amount, {', '.join(into)}) "
                        f"SELECT contributor_id, {cents_to_amount_sql('cents')}, {', '.join(into.values())} "
                        f"FROM {UsageShare._meta.db_table} WHERE report_id = %(report)s AND cents > 0 "
                        "ORDER BY contributor_id", params)
                elif attributed > 0:
                    weights = (f"SELECT contributor_id, CAST(NULL AS bigint) AS organisation_id, cents AS weight "
                               f"FROM {UsageShare._meta.db_table} WHERE report_id = %(report)s AND cents > 0")
                    cursor.execute(split_sql(weights_sql=weights, cents=attributed, into=into), params)
                if rest > 0 and has_grants:
                    # What no score explains is shared like every royalty: by granted works, and a work's
                    # rightsholders by their shares.
                    cursor.execute(split_sql(weights_sql=granted_payee_weights_sql(), cents=rest,
                                             into={**common, "reason": "'payment'"}), params)
            pool.contributor_count = pool.entries.values("contributor_id").distinct().count()
            pool.save(update_fields=["contributor_count"])
    except IntegrityError:
        return RoyaltyPool.objects.get(payment=payment)
    log.info("attribution_pool_created", pool=pool.pk, report=report.pk, attributed=attributed, rest=rest)
    return pool


def _attribution_to_rightsholders_sql(*, attributed, whole, into):
    """INSERT the attribution entries of a payment when some scored contributors hold works with other
    rightsholders: first each contributor's cents of the payment (their report cents as they stand when the
    whole report is paid, else `attributed` split by them), then, for the contributors whose works that
    trained the version have rightsholders, those cents split between the works' payees as the pro-rata
    split weighs them (selectors/attribution.py), by largest remainder per contributor, ties to contributors
    by id then organisations by id. Each contributor's cents are shared out whole, so the entries add up to
    `attributed` exactly. A payee paid through several contributors gets one entry."""
    shares = UsageShare._meta.db_table
    if whole:
        owed = f"owed AS (SELECT contributor_id, cents AS share FROM {shares} WHERE report_id = %(report)s AND cents > 0)"
    else:
        owed = f"""
        s AS (SELECT contributor_id, cents AS weight FROM {shares} WHERE report_id = %(report)s AND cents > 0),
        st AS (SELECT CAST(SUM(weight) AS bigint) AS total FROM s),
        sr AS (
            SELECT s.contributor_id, ({attributed} * s.weight) / st.total AS floor_cents,
                   row_number() OVER (ORDER BY ({attributed} * s.weight) %% st.total DESC, s.contributor_id) AS rnk
            FROM s CROSS JOIN st
        ),
        owed AS (
            SELECT contributor_id,
                   floor_cents + CASE WHEN rnk <= {attributed} - SUM(floor_cents) OVER () THEN 1 ELSE 0 END AS share
            FROM sr
        )"""
    return f"""
        INSERT INTO {RoyaltyEntry._meta.db_table} (contributor_id, organisation_id, amount, {', '.join(into)})
        WITH {owed},
        weights AS ({attributed_payee_weights_sql(owners_with_rightsholders_sql())}),
        totals AS (SELECT owner_id, CAST(SUM(weight) AS bigint) AS total FROM weights GROUP BY owner_id),
        ranked AS (
            SELECT w.owner_id, w.contributor_id, w.organisation_id, o.share,
                   (o.share * w.weight) / t.total AS floor_cents,
                   row_number() OVER (PARTITION BY w.owner_id
                                      ORDER BY (o.share * w.weight) %% t.total DESC,
                                               CASE WHEN w.contributor_id IS NULL THEN 1 ELSE 0 END,
                                               COALESCE(w.contributor_id, w.organisation_id)) AS rnk
            FROM weights w JOIN totals t ON t.owner_id = w.owner_id JOIN owed o ON o.contributor_id = w.owner_id
        ),
        split AS (
            SELECT contributor_id, organisation_id,
                   floor_cents + CASE WHEN rnk <= share - SUM(floor_cents) OVER (PARTITION BY owner_id)
                                      THEN 1 ELSE 0 END AS cents
            FROM ranked
        ),
        payees AS (
            SELECT o.contributor_id, CAST(NULL AS bigint) AS organisation_id, o.share AS cents FROM owed o
            WHERE NOT EXISTS (SELECT 1 FROM totals t WHERE t.owner_id = o.contributor_id)
            UNION ALL
            SELECT contributor_id, organisation_id, cents FROM split
        )
        SELECT contributor_id, organisation_id, {cents_to_amount_sql("SUM(cents)")}, {', '.join(into.values())}
        FROM payees
        GROUP BY contributor_id, organisation_id
        HAVING SUM(cents) > 0
        ORDER BY contributor_id, organisation_id
    """


# --- Explaining one output -----------------------------------------------------------

@dataclass
class OutputExplanation:
    output_id: str
    line: int
    revenue: Decimal
    pool: float  # in the report's currency
    score: float
    others: int
    share: float  # φ
    explained: float  # v(N)
    amount: float
    zeroed: int

    @property
    def sentence(self):
        others = f"the other {self.others} contributor{'s' if self.others != 1 else ''}"
        return (f"your score {self.score:.2f}; with {others} your share of this output is {self.share:.2f} of "
                f"the {self.explained:.2f} explained")


def explain_output(*, report, contributor, line):
    """Recompute one output's split from the stored file: it is read up to that line, no further."""
    for number, record in records(report):
        if number < line:
            continue
        if number > line:
            return None
        checked = _check_record(record, report.currency)
        if isinstance(checked, str):
            return None
        output_id, revenue = checked
        scores = {}
        for key, value in record.get("scores", {}).items():
            if str(key).isdigit():
                scores[int(key)] = max(scores.get(int(key), 0.0), float(value))
        asset_scores = record.get("asset_scores", {})
        if asset_scores:
            owners = dict(Asset.objects.filter(pk__in=[int(a) for a in asset_scores if str(a).isdigit()])
                          .values_list("pk", "contributor_id"))
            for key, value in asset_scores.items():
                owner = owners.get(int(key)) if str(key).isdigit() else None
                if owner is not None:
                    scores[owner] = max(scores.get(owner, 0.0), float(value))
        trained = _trained_among(report.version, list(scores))
        zeroed = sum(1 for c, s in scores.items() if c not in trained and s > 0)
        players = sorted(c for c, s in scores.items() if c in trained and s > 0)
        if contributor.pk not in players:
            return None
        row = np.asarray([[scores[c] for c in players]])
        phi = shapley.shapley_values(row)[0]
        mine = phi[players.index(contributor.pk)]
        pool = float(revenue) * float(report.attribution_rate)
        return OutputExplanation(output_id=output_id, line=line, revenue=revenue, pool=pool,
                                 score=scores[contributor.pk], others=len(players) - 1, share=float(mine),
                                 explained=float(phi.sum()), amount=pool * float(mine), zeroed=zeroed)
    return None


def _trained_among(version, contributor_ids):
    if not contributor_ids:
        return set()
    sql = f"""
        WITH {counted_items_cte("v.id = %(version)s")}
        SELECT DISTINCT a.contributor_id FROM used u JOIN {table_of('asset')} a ON a.id = u.asset_id
        WHERE u.counted = 1 AND a.contributor_id = ANY(%(ids)s)
    """
    if connection.vendor != "postgresql":
        sql = sql.replace("= ANY(%(ids)s)", f"IN ({', '.join(str(int(c)) for c in contributor_ids)})")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"version": version.pk, "ids": [int(c) for c in contributor_ids]})
        return {row[0] for row in cursor.fetchall()}
