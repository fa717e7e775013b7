"""Numbers, money and dates as the reader writes them, in the active language (pages) or a given one
(e-mails, PDFs). English keeps the exact forms Tessera has always printed ("1,234.56 EUR",
"05 December 2025"); German, Italian and Arabic are written by Babel from CLDR ("1.234,56 €")."""
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.utils import translation

# Babel separates the amount from its symbol with a no-break space; Tessera prints a plain one, the way
# people type amounts (and search for them).
_NBSP = "\u00a0"


def reader_locale(language=None):
    """The Babel locale of `language` (default: the active one), or None for English, which keeps its own
    forms."""
    language = (language or translation.get_language() or "en").lower()
    if language == "en" or language.startswith("en-"):
        return None
    try:
        return Locale.parse(language, sep="-")
    except (UnknownLocaleError, ValueError):
        return None


def _plain(text):
    return text.replace(_NBSP, " ").replace("\u202f", " ")


def number(value, *, places=2, language=None):
    """A number with thousands separators and exactly `places` decimals."""
    locale = reader_locale(language)
    if locale is None:
        return f"{value:,.{places}f}"
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return _plain(format_decimal(Decimal(value), format=pattern, locale=locale, decimal_quantization=True))


def count(value, *, language=None):
    """A whole number with thousands separators: 12,000 / 12.000."""
    locale = reader_locale(language)
    if locale is None:
        return f"{int(value):,}"
    return _plain(format_decimal(int(value), format="#,##0", locale=locale))


def decimal(value, *, max_places=2, language=None):
    """A number with at most `max_places` decimals, trailing zeros dropped: 12.5 / 12,5."""
    locale = reader_locale(language)
    text = f"{Decimal(value):.{max_places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if locale is None:
        return text
    return _plain(format_decimal(Decimal(text), format="#,##0." + "#" * max_places, locale=locale))


def money(value, currency="", *, language=None):
    """An amount with two decimals, and its currency when given: "1,234.56 EUR" in English,
    "1.234,56 €" in German, as the reader's locale writes it elsewhere."""
    if value is None:
        return ""
    locale = reader_locale(language)
    if locale is None:
        text = f"{value:,.2f}"
        return f"{text} {currency}" if currency else text
    if not currency:
        return number(value, places=2, language=language)
    return _plain(format_currency(Decimal(value), currency, locale=locale,
                                  currency_digits=False))


def day(value, *, language=None):
    """A date in words: "05 December 2025", "5. Dezember 2025"."""
    locale = reader_locale(language)
    if locale is None:
        return f"{value:%d %B %Y}"
    return format_date(value, format="long", locale=locale)


def short_day(value, *, language=None):
    """A date with the month abbreviated: "05 Dec 2025", "05.12.2025"."""
    locale = reader_locale(language)
    if locale is None:
        return f"{value:%d %b %Y}"
    return format_date(value, format="medium", locale=locale)
