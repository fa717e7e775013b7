"""VAT ids: what an organisation's VAT id must look like for the country it is in.

EU member states and the United Kingdom are checked by python-stdnum, which knows each
national format (prefix, length, which places are letters). Elsewhere there is no single
format to check against, so an id is only allowed letters and digits: nothing that a
spreadsheet opening a finance export would read as a formula (``=1+1``, ``@SUM(…)``).

Check digits are not enforced: whether an id really exists is for VIES or the tax office
to say, and an id shaped right with a mistyped digit is caught there, not refused here.
"""
import re

from django.core.exceptions import ValidationError
from django_countries import countries
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat

# How each country's ids are written, in the words the refusal uses. The keys are the
# organisation's ISO 3166 country; the VAT prefix differs for Greece (EL).
FORMATS = {
    "AT": ("ATU", "ATU followed by 8 digits", "ATU12345678"),
    "BE": ("BE", "BE followed by 10 digits", "BE0123456789"),
    "BG": ("BG", "BG followed by 9 or 10 digits", "BG123456789"),
    "CY": ("CY", "CY followed by 8 digits and a letter", "CY10259033P"),
    "CZ": ("CZ", "CZ followed by 8, 9 or 10 digits", "CZ12345678"),
    "DE": ("DE", "DE followed by 9 digits", "DE123456789"),
    "DK": ("DK", "DK followed by 8 digits", "DK12345678"),
    "EE": ("EE", "EE followed by 9 digits", "EE123456789"),
    "ES": ("ES", "ES followed by 9 characters, the first or last of them a letter", "ESX1234567X"),
    "FI": ("FI", "FI followed by 8 digits", "FI12345678"),
    "FR": ("FR", "FR followed by 2 letters or digits and the 9-digit SIREN", "FR12345678901"),
    "GR": ("EL", "EL followed by 9 digits", "EL123456789"),
    "HR": ("HR", "HR followed by 11 digits", "HR12345678901"),
    "HU": ("HU", "HU followed by 8 digits", "HU12345678"),
    "IE": ("IE", "IE followed by 7 digits and 1 or 2 letters", "IE1234567T"),
    "IT": ("IT", "IT followed by 11 digits, the 8th to 10th the tax office's code", "IT12345670017"),
    "LT": ("LT", "LT followed by 9 or 12 digits", "LT119511515"),
    "LU": ("LU", "LU followed by 8 digits", "LU12345678"),
    "LV": ("LV", "LV followed by 11 digits", "LV40003521600"),
    "MT": ("MT", "MT followed by 8 digits", "MT12345678"),
    "NL": ("NL", "NL followed by 9 digits, B and 2 digits", "NL123456789B01"),
    "PL": ("PL", "PL followed by 10 digits", "PL1234567890"),
    "PT": ("PT", "PT followed by 9 digits", "PT123456789"),
    "RO": ("RO", "RO followed by 2 to 10 digits", "RO1234567890"),
    "SE": ("SE", "SE followed by 12 digits", "SE123456789001"),
    "SI": ("SI", "SI followed by 8 digits", "SI12345678"),
    "SK": ("SK", "SK followed by 10 digits", "SK1234567890"),
    "GB": ("GB", "GB followed by 9 or 12 digits, or GBGD or GBHA followed by 3 digits", "GB123456789"),
}

_ELSEWHERE = re.compile(r"[A-Z0-9]{4,20}")
_SEPARATORS = re.compile(r"[\s.\-/]")


def _compact(vat_id):
    return _SEPARATORS.sub("", vat_id).upper()


def _shaped_right(validate, number):
    try:
        validate(number)
    except stdnum_errors.InvalidChecksum:
        return True
    except stdnum_errors.ValidationError:
        return False
    return True


def normalised_vat_id(vat_id, country):
    """The VAT id as Tessera stores it (upper case, no spaces, with its country prefix),
    or ValidationError saying what an id of that country looks like."""
    number = _compact(vat_id)
    country = str(country).upper()
    if country in FORMATS:
        prefix, described, example = FORMATS[country]
        # Northern Ireland's businesses trade with the EU under XI: the same number, another prefix.
        prefixes = (prefix, "XI") if country == "GB" else (prefix,)
        if number[:1].isdigit():
            number = prefix + number
        validate = gb_vat.validate if country == "GB" and number.startswith("GB") else eu_vat.validate
        if number.startswith(prefixes) and _shaped_right(validate, number):
            return number
        raise ValidationError(
            f"That is not a VAT id of the form used for {countries.name(country)} ({described}, e.g. {example}).",
            code="invalid_vat_id",
        )
    if _ELSEWHERE.fullmatch(number):
        return number
    raise ValidationError(
        "A VAT id is 4 to 20 letters and digits, as your tax office issued it (spaces, dots and dashes are "
        "left out); other characters are not accepted.",
        code="invalid_vat_id",
    )

