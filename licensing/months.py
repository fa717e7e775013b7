"""Calendar months, the unit of statements, renewals and charts: written once."""
from datetime import date, datetime

from django.utils import timezone

# The years a month can be named in: Tessera keeps nothing older, and a month of 9999 has no next month.
FIRST_YEAR, LAST_YEAR = 2000, 9998


def parse_month(value):
    """"2026-03" -> date(2026, 3, 1); ValueError for anything else, including years no calendar here holds."""
    year, month = (int(part) for part in str(value).split("-"))
    if not 1 <= month <= 12 or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(value)
    return date(year, month, 1)


def add_months(month, step=1):
    """The first day of the month `step` months after `month` (before it when negative)."""
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month):
    """The month's first instant and the next month's, in the site's time zone."""
    start = timezone.make_aware(datetime(month.year, month.month, 1))
    following = add_months(month)
    return start, timezone.make_aware(datetime(following.year, following.month, 1))


def current_month(now=None):
    now = timezone.localtime(now or timezone.now())
    return date(now.year, now.month, 1)


def month_starts(*, count, now=None):
    """The first instants of the last `count` months, oldest first, ending with the current month."""
    this = current_month(now)
    return [month_bounds(add_months(this, -back))[0] for back in range(count - 1, -1, -1)]


def next_month_start(start):
    """The first instant of the month after the one `start` falls in."""
    return month_bounds(timezone.localtime(start).date())[1]
