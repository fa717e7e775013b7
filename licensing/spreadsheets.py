"""CSV for people: files finance and contributors open in a spreadsheet.

A spreadsheet runs a cell that starts with =, +, - or @ (and, in some, a tab or carriage
return) as a formula, so a licensee named "=HYPERLINK(…)" could run code on finance's
machine. Every cell of these files goes through `safe_cell` (OWASP's rule: prefix a
single quote). Machine manifests are exact copies of the records and are not touched.
"""
import csv
from decimal import Decimal, InvalidOperation

from django.http import StreamingHttpResponse
from django.utils import translation
from django.utils.translation import pgettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text):
    try:
        return Decimal(text).is_finite()
    except (InvalidOperation, ValueError):
        return False


class _Echo:
    def write(self, value):
        return value


def header(*columns):
    """A CSV's first row in the reader's language; English keeps the column names as they always were."""
    return [pgettext("CSV column", column) for column in columns]


def csv_response(rows, filename):
    """Stream rows as a CSV attachment, every cell made safe for a spreadsheet. The rows are written in the
    language of the request (streaming goes on after the view has returned)."""
    writer = csv.writer(_Echo())
    language = translation.get_language()

    def lines():
        with translation.override(language):
            for row in rows:
                yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
