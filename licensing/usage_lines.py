"""Usage-report JSONL lines decoded by column, here or in decoder processes of their own.

Decoding is most of the work of reading a large report, and it is Python objects all the way: on one
core it is about half of a report's processing. `Decoders` starts a few `python -m licensing.usage_lines`
processes and hands them the file's blocks in turn, so that they decode the next blocks on the other
cores while this process checks, splits and books the ones already decoded. They are plain child
processes, not `multiprocessing` ones, which a Celery prefork worker (a daemon) may not start; they
import nothing of Django and never see the database. Results come back in the order of the file, and
what is done with them is the same whichever process decoded them, so a report's cents do not depend
on how it was read.

A block comes back as `Columns`, or None when a line needs the careful path (licensing/services/
attribution.py reads it again, line by line). A decoder that cannot be started or stops answering is
dropped, and its blocks are decoded in this process instead: nothing is lost and nothing is booked twice.
"""
import fcntl
import gc
import os
import pickle
import re
import struct
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Union

import msgspec
import numpy as np
import structlog

log = structlog.get_logger(__name__)

MAX_REVENUE = Decimal("1000000000")  # per output
MAX_OUTPUT_ID = 200
MAX_SCORES = 10_000  # per output
# Decimal places a revenue may have: then a report's revenue, at most 1e9 an output, adds up exactly in 28 digits
# however its lines are grouped, up to 10^11 lines.
REVENUE_PLACES = 8
_EXACTLY = Context(prec=28, traps=[Inexact, InvalidOperation])


def exact_sum(revenues, start=Decimal("0")):
    """The sum of revenues that passed the line checks, exactly (Inexact is raised otherwise)."""
    with localcontext(_EXACTLY):
        return sum(revenues, start)


def revenue_sum(revenues):
    """The exact sum of a block's revenues, or None when one has more than REVENUE_PLACES decimal places (the
    careful path names it): an exact sum has the fewest places of its terms."""
    try:
        total = exact_sum(revenues)
    except Inexact:
        return None
    return total if total.as_tuple().exponent >= -REVENUE_PLACES else None

Score = Annotated[float, msgspec.Meta(ge=0, le=1)]
Scores = Annotated[dict[int, Score], msgspec.Meta(max_length=MAX_SCORES)]


class Record(msgspec.Struct, gc=False):
    """A JSONL line in the form the fast path takes: everything the careful path refuses is refused here
    too, or sends the block to the careful path (an output id given as a number, a null currency, a
    contributor id with spaces or leading zeros), which decides as it always did."""

    output_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_OUTPUT_ID)]
    revenue: Decimal
    scores: Scores = {}
    currency: Union[str, msgspec.UnsetType] = msgspec.UNSET
    asset_scores: Union[Scores, msgspec.UnsetType] = msgspec.UNSET


_RECORDS = msgspec.json.Decoder(Record)


@dataclass
class Columns:
    """A JSONL block that passed every per-line check, by column; `ids` and `values` are its contributor
    scores, record after record (`counts` of them per record). Revenues come as their exact sum and as
    floats (for the split), which cross a pipe in a few bytes each where a Decimal takes microseconds."""

    lines: range
    output_ids: list
    revenue_sum: Decimal
    revenue_floats: np.ndarray
    ids: np.ndarray
    values: np.ndarray
    counts: list
    asset_scores: list


_OUTPUT_ID, _REVENUE, _CURRENCY, _SCORES, _ASSET_SCORES = map(
    attrgetter, ("output_id", "revenue", "currency", "scores", "asset_scores"))


# Records are read as JSON values one after another, whatever the lines: two objects on one line and one over
# two lines would still count one record a line. Without those, each record is on a line of its own.
_TWO_ON_A_LINE = re.compile(rb"\}[ \t]*\{")
_BLANK_INSIDE = re.compile(rb"\n[ \t\x0b\x0c]*\n")  # a line of white space alone, after another line


def _has_blank_line(block):
    """Whether a block (without \r) has a line of white space alone, which the careful reader skips."""
    end = block.find(b"\n")
    if not block[:end + 1 if end >= 0 else len(block)].strip() or _BLANK_INSIDE.search(block):
        return True
    last = block[block.rfind(b"\n") + 1:]  # a last line without its line end
    return bool(last) and not last.strip()


def block_columns(first, block, count, currency):
    """A block of `count` whole lines, the first numbered `first`, decoded and checked in one pass; None when
    a line needs the careful path, or when the block's lines might not be one record each by their \n alone
    (a blank line, a line ended by a lone \r, a line where one object ends and another begins)."""
    if b"\r" in block or _has_blank_line(block) or _TWO_ON_A_LINE.search(block):
        return None
    return _columns(range(first, first + count), block, count, currency)


def _columns(numbers, joined, count, currency):
    """The block's `count` records, numbered `numbers`, decoded and checked in one pass; None when any line
    needs the careful path."""
    try:
        decoded = _RECORDS.decode_lines(joined)
    except msgspec.DecodeError:  # ValidationError included
        return None
    if len(decoded) != count:  # an object over two lines
        return None
    output_ids = list(map(_OUTPUT_ID, decoded))
    revenues = list(map(_REVENUE, decoded))
    # A field no line names is not looked for record by record. A key may be spelt with \u escapes, so only a
    # block without any says that by its bytes.
    plain = b"\\u" not in joined
    # Ids are never empty (min_length): blank is all white space, which isspace says without a copy as strip makes.
    if (any(map(str.isspace, output_ids)) or "\x00" in "".join(output_ids)
            or not all(map(Decimal.is_finite, revenues))
            or min(revenues) < 0 or max(revenues) > MAX_REVENUE
            or ((not plain or b'"currency"' in joined)
                and set(map(_CURRENCY, decoded)) - {currency, msgspec.UNSET})):
        return None
    total = revenue_sum(revenues)
    if total is None:
        return None
    scores = list(map(_SCORES, decoded))
    try:
        ids = np.fromiter(chain.from_iterable(scores), dtype=np.int64)
    except OverflowError:  # an id no contributor has; the careful path names the line
        return None
    values = np.fromiter(chain.from_iterable(map(dict.values, scores)), dtype=np.float64, count=len(ids))
    return Columns(lines=numbers, output_ids=output_ids, revenue_sum=total,
                   revenue_floats=np.fromiter(map(float, revenues), dtype=np.float64, count=len(revenues)),
                   ids=ids, values=values, counts=list(map(len, scores)),
                   asset_scores=list(map(_ASSET_SCORES, decoded)) if not plain or b'"asset_scores"' in joined else [])


# --- Decoder processes ----------------------------------------------------------------

_LENGTH = struct.Struct(">Q")
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux
PIPE_BYTES = 2**20  # Linux's default ceiling for a pipe not run by root
_LOST = object()  # what a decoder that stopped answering gave


def _send(stream, value):
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _receive(stream):
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    size = _LENGTH.unpack(head)[0]
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


class _Decoder:
    """One decoder process and the block it is decoding (at most one: it reads a whole block before it
    writes anything, and is given the next only once its answer is read, so neither side waits on a full
    pipe). Given the file's path, it reads each block there itself instead of through the pipe."""

    def __init__(self, path):
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        self.path = path
        self.process = subprocess.Popen([sys.executable, "-m", "licensing.usage_lines"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, cwd=root, env=env)
        for stream in (self.process.stdin, self.process.stdout):
            try:  # an answer of a few MB in a few writes instead of one per 64 KB
                fcntl.fcntl(stream.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
            except (OSError, AttributeError):
                pass

    def send(self, first, block, count, offset, currency):
        source = (self.path, offset, len(block)) if self.path else block
        try:
            _send(self.process.stdin, (first, source, count, currency))
            return True
        except (OSError, ValueError):
            return False

    def receive(self):
        try:
            return _receive(self.process.stdout)
        except Exception:  # noqa: BLE001 - whatever went wrong there, the block is decoded here
            return _LOST

    def close(self):
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Decoders:
    """`count` decoder processes (none when they cannot be started: everything is then decoded here)."""

    def __init__(self, count, *, path=None):
        self.count, self.path, self.decoders = count, path, []

    def __enter__(self):
        for _ in range(self.count):
            try:
                self.decoders.append(_Decoder(self.path))
            except OSError as error:
                log.warning("usage_report_decoder_not_started", error=str(error), started=len(self.decoders))
                break
        return self

    def __exit__(self, *exc):
        for decoder in self.decoders:
            decoder.close()
        self.decoders = []
        return False

    def _lose(self, decoder):
        self.decoders.remove(decoder)
        decoder.close()
        log.warning("usage_report_decoder_lost", pid=decoder.process.pid, returncode=decoder.process.returncode,
                    left=len(self.decoders))

    def decoded(self, blocks, currency):
        """(first, block, count, Columns or None) for each (first, block, count, offset) of `blocks`, in their
        order. While a block's result is used, every decoder is already at work on a later block."""
        blocks = iter(blocks)
        pending = deque()  # (first, block, count, decoder or None), oldest first
        idle = deque(self.decoders)

        def hand_out():
            while idle:
                item = next(blocks, None)
                if item is None:
                    return
                decoder = idle.popleft()
                if decoder.send(*item, currency):
                    pending.append((*item[:3], decoder))
                else:
                    self._lose(decoder)
                    pending.append((*item[:3], None))

        hand_out()
        while pending:
            first, block, count, decoder = pending.popleft()
            result = _LOST if decoder is None else decoder.receive()
            if result is _LOST:
                if decoder is not None:
                    self._lose(decoder)
                result = block_columns(first, block, count, currency)
            else:
                idle.append(decoder)
            hand_out()
            yield first, block, count, result
        # No decoder (none started, or every one lost): the rest is decoded here.
        for first, block, count, _ in blocks:
            yield first, block, count, block_columns(first, block, count, currency)


def _serve(stdin, stdout):
    """A decoder's loop: a block in (its bytes, or where they are in the file), its columns (or None) out,
    until the parent closes the pipe."""
    gc.disable()  # millions of objects, none in a cycle
    report = None  # the file a decoder reads its blocks from: one report's, for its whole life
    try:
        while True:
            try:
                first, source, count, currency = _receive(stdin)
            except EOFError:
                return
            length = None
            if isinstance(source, tuple):
                path, offset, length = source
                report = report or open(path, "rb")
                source = os.pread(report.fileno(), length, offset)
            # A short read (the file is not what the job read) leaves the block to the job.
            whole = length is None or len(source) == length
            result = block_columns(first, source, count, currency) if whole else None
            try:
                _send(stdout, result)
            except BrokenPipeError:  # the job ended before it wanted this block
                return
            del result, source
    finally:
        if report is not None:
            report.close()


if __name__ == "__main__":
    # Served by the module under its own name, so that what it pickles is licensing.usage_lines.Columns.
    from licensing.usage_lines import _serve as serve

    serve(sys.stdin.buffer, sys.stdout.buffer)
