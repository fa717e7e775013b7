from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from licensing import formats
from licensing.models.licences import LicencePhase

register = template.Library()


@register.filter
def binary_size(value):
    """Bytes in the binary units the cap forms ask for (GiB), so a 5 GiB cap reads "5.0 GiB"."""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return ""
    if size < 1024:
        return ngettext("%(count)s byte", "%(count)s bytes", int(size)) % {"count": int(size)}
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{formats.number(size, places=1)} {unit}"


@register.filter
def usage_value(value, key):
    """Bytes as a size, counts with thousands separators."""
    if value is None:
        return _("unlimited data") if key == "bytes" else _("unlimited")
    if key == "bytes":
        return binary_size(value)
    return intcomma(value) if formats.reader_locale() is None else formats.count(value)


@register.filter
def state_badge(licence):
    return licence.get_state_display()


EVENT_VERBS = {
    "create": gettext_lazy("started the application"),
    "submit": gettext_lazy("submitted the application"),
    "request_changes": gettext_lazy("asked for changes"),
    "approve": gettext_lazy("approved the research licence"),
    "reject": gettext_lazy("rejected the application"),
    "withdraw": gettext_lazy("withdrew the application"),
    "request_upgrade": gettext_lazy("asked for a commercial licence"),
    "make_offer": gettext_lazy("made a commercial offer"),
    "decline_upgrade": gettext_lazy("declined the upgrade"),
    "accept_offer": gettext_lazy("accepted the offer"),
    "record_payment": gettext_lazy("recorded the payment"),
    "expire": gettext_lazy("expired the licence"),
    "suspend": gettext_lazy("suspended the licence"),
    "reinstate": gettext_lazy("reinstated the licence"),
    "revoke": gettext_lazy("revoked the licence"),
}


@register.filter
def event_verb(event):
    return EVENT_VERBS.get(event.action, event.action.replace("_", " "))


@register.filter
def money(value, currency=""):
    """1234.5 -> 1,234.50 in English, 1.234,50 in German; with a currency (`amount|money:invoice.currency`)
    "1,234.50 EUR" in English, "1.234,50 €" in German: the reader's locale places the symbol."""
    if value is None or value == "":
        return ""
    return formats.money(value, currency)


@register.filter
def percent(rate):
    """Decimal("0.1250") -> 12.5 (a rate as the percent people write; 12,5 in German)"""
    if rate is None:
        return ""
    return formats.decimal(Decimal(rate) * 100, max_places=2)


@register.filter
def cents(value, currency=""):
    """123456 (cents) -> 1,234.56 (1.234,56 in German; with a currency as `money` writes it)"""
    if value is None or value == "":
        return ""
    if formats.reader_locale() is None and not currency:
        return f"{int(value) / 100:,.2f}"
    return formats.money(Decimal(int(value)) / 100, currency)


MEDIA_KIND_LABELS = {"image": gettext_lazy("Images"), "video": gettext_lazy("Video")}


@register.filter
def media_kinds(kinds):
    return ", ".join(str(MEDIA_KIND_LABELS.get(k, k)) for k in kinds or [])


@register.filter
def negate(value):
    return -value


@register.filter
def seconds(value):
    """A duration as people say it: "4.5 s", "1 min 15 s", "1 h 2 min"."""
    try:
        total = float(value)
    except (TypeError, ValueError):
        return ""
    if total < 60:
        shown = f"{total:.1f}".removesuffix(".0")
        return _("%(seconds)s s") % {"seconds": formats.decimal(Decimal(shown), max_places=1)}
    minutes, secs = divmod(round(total), 60)
    if minutes < 60:
        if secs:
            return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": secs}
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if minutes:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return _("%(hours)s h") % {"hours": hours}


@register.filter
def plural_verb(count, forms="has,have"):
    """`{{ n }} {{ n|plural_verb }}`: "1 has", "3 have"."""
    one, many = forms.split(",")
    try:
        return one if int(count) == 1 else many
    except (TypeError, ValueError):
        return many


@register.filter
def phase_label(phase):
    """A slice's recorded phase ("research") in the reader's words ("Forschung")."""
    return LicencePhase(phase).label if phase in LicencePhase.values else phase


@register.filter
def in_sentence(label):
    """A label written inside a sentence: lower case, except in German, where nouns keep their capital."""
    text = str(label)
    return text if (get_language() or "").startswith("de") else text.lower()
