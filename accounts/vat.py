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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat

# How each country's ids are written, in the words the refusal uses. The keys are the
# organisation's ISO 3166 country; the VAT prefix differs for Greece (EL).
FORMATS = {
    "AT": ("ATU", gettext_lazy("ATU followed by 8 digits"), "ATU12345678"),
    "BE": ("BE", gettext_lazy("BE followed by 10 digits"), "BE0123456789"),
    "BG": ("BG", gettext_lazy("BG followed by 9 or 10 digits"), "BG123456789"),
    "CY": ("CY", gettext_lazy("CY followed by 8 digits and a letter"), "CY10259033P"),
    "CZ": ("CZ", gettext_lazy("CZ followed by 8, 9 or 10 digits"), "CZ12345678"),
    "DE": ("DE", gettext_lazy("DE followed by 9 digits"), "DE123456789"),
    "DK": ("DK", gettext_lazy("DK followed by 8 digits"), "DK12345678"),
    "EE": ("EE", gettext_lazy("EE followed by 9 digits"), "EE123456789"),
    "ES": ("ES", gettext_lazy("ES followed by 9 characters, the first or last of them a letter"), "ESX1234567X"),
    "FI": ("FI", gettext_lazy("FI followed by 8 digits"), "FI12345678"),
    "FR": ("FR", gettext_lazy("FR followed by 2 letters or digits and the 9-digit SIREN"), "FR12345678901"),
    "GR": ("EL", gettext_lazy("EL followed by 9 digits"), "EL123456789"),
    "HR": ("HR", gettext_lazy("HR followed by 11 digits"), "HR12345678901"),
    "HU": ("HU", gettext_lazy("HU followed by 8 digits"), "HU12345678"),
    "IE": ("IE", gettext_lazy("IE followed by 7 digits and 1 or 2 letters"), "IE1234567T"),
    "IT": ("IT", gettext_lazy("IT followed by 11 digits, the 8th to 10th the tax office's code"), "IT12345670017"),
    "LT": ("LT", gettext_lazy("LT followed by 9 or 12 digits"), "LT119511515"),
    "LU": ("LU", gettext_lazy("LU followed by 8 digits"), "LU12345678"),
    "LV": ("LV", gettext_lazy("LV followed by 11 digits"), "LV40003521600"),
    "MT": ("MT", gettext_lazy("MT followed by 8 digits"), "MT12345678"),
    "NL": ("NL", gettext_lazy("NL followed by 9 digits, B and 2 digits"), "NL123456789B01"),
    "PL": ("PL", gettext_lazy("PL followed by 10 digits"), "PL1234567890"),
    "PT": ("PT", gettext_lazy("PT followed by 9 digits"), "PT123456789"),
    "RO": ("RO", gettext_lazy("RO followed by 2 to 10 digits"), "RO1234567890"),
    "SE": ("SE", gettext_lazy("SE followed by 12 digits"), "SE123456789001"),
    "SI": ("SI", gettext_lazy("SI followed by 8 digits"), "SI12345678"),
    "SK": ("SK", gettext_lazy("SK followed by 10 digits"), "SK1234567890"),
    "GB": ("GB", gettext_lazy("GB followed by 9 or 12 digits, or GBGD or GBHA followed by 3 digits"), "GB123456789"),
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
            _("That is not a VAT id of the form used for %(country)s (%(described)s, e.g. %(example)s).")
            % {"country": countries.name(country), "described": described, "example": example},
            code="invalid_vat_id",
        )
    if _ELSEWHERE.fullmatch(number):
        return number
    raise ValidationError(
        _("A VAT id is 4 to 20 letters and digits, as your tax office issued it (spaces, dots and dashes are "
          "left out); other characters are not accepted."),
        code="invalid_vat_id",
    )

