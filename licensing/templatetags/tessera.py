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
