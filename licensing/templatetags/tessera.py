from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def binary_size(value):
    """Bytes in the binary units the cap forms ask for (GiB), so a 5 GiB cap reads "5.0 GiB"."""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return ""
    if size < 1024:
        return f"{int(size)} bytes" if size != 1 else "1 byte"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:,.1f} {unit}"


@register.filter
def usage_value(value, key):
    """Bytes as a size, counts with thousands separators."""
    if value is None:
        return "unlimited data" if key == "bytes" else "unlimited"
    return binary_size(value) if key == "bytes" else intcomma(value)


@register.filter
def state_badge(licence):
    return licence.get_state_display()


EVENT_VERBS = {
    "create": "started the application",
    "submit": "submitted the application",
    "request_changes": "asked for changes",
    "approve": "approved the research licence",
    "reject": "rejected the application",
    "withdraw": "withdrew the application",
    "request_upgrade": "asked for a commercial licence",
    "make_offer": "made a commercial offer",
    "decline_upgrade": "declined the upgrade",
    "accept_offer": "accepted the offer",
    "record_payment": "recorded the payment",
    "expire": "expired the licence",
    "suspend": "suspended the licence",
    "reinstate": "reinstated the licence",
    "revoke": "revoked the licence",
}


@register.filter
def event_verb(event):
    return EVENT_VERBS.get(event.action, event.action.replace("_", " "))


@register.filter
def money(value):
    """1234.5 -> 1,234.50"""
    if value is None:
        return ""
    return f"{value:,.2f}"


@register.filter
def percent(rate):
    """Decimal("0.1250") -> 12.5 (a rate as the percent people write)"""
    if rate is None:
        return ""
    return f"{Decimal(rate) * 100:.2f}".rstrip("0").rstrip(".")


@register.filter
def cents(value):
    """123456 (cents) -> 1,234.56"""
    if value is None:
        return ""
    return f"{int(value) / 100:,.2f}"


@register.filter
def media_kinds(kinds):
    labels = {"image": "Images", "video": "Video"}
    return ", ".join(labels.get(k, k) for k in kinds or [])


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
        return f"{total:.1f} s".replace(".0 s", " s")
    minutes, secs = divmod(round(total), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def plural_verb(count, forms="has,have"):
    """`{{ n }} {{ n|plural_verb }}`: "1 has", "3 have"."""
    one, many = forms.split(",")
    try:
        return one if int(count) == 1 else many
    except (TypeError, ValueError):
        return many
