"""JSON request bodies, refused with a 400 a person can act on when they are not JSON or nest too deep."""
import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import FileUploadParser, JSONParser

# No request body of the API nests beyond a few levels; a bound far below Python's recursion limit
# keeps a hostile body from reaching the serializers, the idempotency hash or the logs.
MAX_DEPTH = 32


class NotJsonNumber(ValueError):
    pass


def _refuse_constant(name):
    raise NotJsonNumber(f"{name} is not a JSON number")


class TooDeep(ParseError):
    default_detail = (f"The body nests arrays and objects deeper than {MAX_DEPTH} levels: "
                      "send the flat fields the endpoint documents.")


def _depth(value):
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((item, depth + 1) for item in value)
    return deepest


class ApiJSONParser(JSONParser):
    """DRF's JSON parser (the same numbers, strings and strictness) with a depth limit and plain messages."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            raise ParseError(f"The body is not valid JSON: it is not {encoding} text.") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise TooDeep() from None
        except json.JSONDecodeError as error:
            raise ParseError(f"The body is not valid JSON: {error.msg} at line {error.lineno}, "
                             f"column {error.colno}.") from None
        except NotJsonNumber as error:
            raise ParseError(f"The body is not valid JSON: {error}.") from None
        except ValueError:  # Python refuses to read an integer of thousands of digits
            raise ParseError("The body holds a number too long to read.") from None
        if _depth(data) > MAX_DEPTH:
            raise TooDeep()
        return data


class UsageReportBodyParser(FileUploadParser):
    """A usage report sent as the raw body (JSON Lines or CSV): streamed to an upload file like a multipart
    one, so the request's memory stays flat in the report's size."""

    media_type = "application/x-ndjson"

    def get_filename(self, stream, media_type, parser_context):
        return super().get_filename(stream, media_type, parser_context) or "report.jsonl"


class UsageReportJsonlParser(UsageReportBodyParser):
    media_type = "application/jsonl"


class UsageReportCsvParser(UsageReportBodyParser):
    media_type = "text/csv"

    def get_filename(self, stream, media_type, parser_context):
        return FileUploadParser.get_filename(self, stream, media_type, parser_context) or "report.csv"
