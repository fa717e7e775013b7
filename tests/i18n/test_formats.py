"""Money, numbers and dates in the reader's locale: German and Italian write 1.234,56 €, Arabic as the ar
locale does; English exactly as Tessera always has."""
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from django.template import Context, Template
from django.utils import translation

from licensing import formats


def render(source, language, **context):
    with translation.override(language):
        return Template("{% load tessera %}" + source).render(Context(context))


def test_english_pages_keep_their_forms():
    amount = Decimal("1234.56")
    assert render("{{ a|money }}", "en", a=amount) == "1,234.56"
    assert render("{{ a|money:'EUR' }}", "en", a=amount) == "1,234.56 EUR"
    assert render("{{ c|cents }}", "en", c=123456) == "1,234.56"
    assert render("{{ r|percent }}", "en", r=Decimal("0.1250")) == "12.5"
    assert render("{{ b|binary_size }}", "en", b=5 * 1024**3) == "5.0 GiB"
    assert render("{{ n|usage_value:'assets' }}", "en", n=12000) == "12,000"
    assert render("{{ s|seconds }}", "en", s=4.5) == "4.5 s"
    assert formats.day(date(2026, 12, 5), language="en") == "05 December 2026"


@pytest.mark.parametrize("language", ["de", "it"])
def test_german_and_italian_write_1234_56_euro(language):
    amount = Decimal("1234.56")
    assert render("{{ a|money:'EUR' }}", language, a=amount) == "1.234,56 €"
    assert render("{{ a|money }}", language, a=amount) == "1.234,56"
    assert render("{{ c|cents:'EUR' }}", language, c=123456) == "1.234,56 €"
    assert render("{{ r|percent }}", language, r=Decimal("0.1250")) == "12,5"
    assert render("{{ b|binary_size }}", language, b=5 * 1024**3) == "5,0 GiB"
    assert render("{{ n|usage_value:'assets' }}", language, n=12000) == "12.000"


def test_arabic_writes_amounts_as_the_arabic_locale_does():
    amount = Decimal("1234.56")
    expected = format_currency(amount, "EUR", locale="ar").replace("\u00a0", " ")

    assert render("{{ a|money:'EUR' }}", "ar", a=amount) == expected
    assert expected != "1,234.56 EUR", "the locale's own currency form, not the English one"


def test_dates_in_words_in_the_readers_language():
    assert formats.day(date(2026, 12, 5), language="de") == "5. Dezember 2026"
    assert formats.day(date(2026, 12, 5), language="it") == "5 dicembre 2026"
    assert "ديسمبر" in formats.day(date(2026, 12, 5), language="ar")
