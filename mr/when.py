"""Moments a user names (``mr show --at``): ISO 8601 dates and times, and git's relative forms.

Strict where git is lenient: git reads any text as some date (``git log
--until=garbage`` quietly means now), which would answer "what was live
then" with the wrong moment. Here a moment is one of

- ``2026-11-01``: a date, meaning the end of that day (what was live on it, as it ended);
- ``2026-11-01T14:30``, ``2026-11-01 14:30:15``, with ``Z`` or ``+01:00`` or without
  (then local time, as git reads it);
- ``2.weeks.ago``, ``3 days ago``, ``1.month.ago`` (seconds, minutes, hours, days,
  weeks, months, years; a month or year back on the calendar);
- ``@1700000000``: seconds since the epoch;
- ``now``;

and anything else is refused with one line.
"""

from __future__ import annotations

import datetime as dt
import re

from mr.errors import UsageError

_RELATIVE = re.compile(r"(?P<n>\d{1,6})[. ](?P<unit>second|minute|hour|day|week|month|year)s?[. ]ago", re.IGNORECASE)
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_FORMS = "a date (2026-11-01), a date and time (2026-11-01T14:30, +01:00 or Z), 2.weeks.ago, @SECONDS or now"


def parse(text: str, now: dt.datetime | None = None) -> int:
    """Seconds since the epoch of the moment ``text`` names; ``UsageError`` when it names none."""
    from mr.terminal import field

    raw = text.strip()
    now = now or dt.datetime.now().astimezone()
    if raw.lower() == "now":
        return int(now.timestamp())
    if re.fullmatch(r"@\d{1,12}", raw):
        return int(raw[1:])
    found = _RELATIVE.fullmatch(raw)
    if found:
        n, unit = int(found["n"]), found["unit"].lower()
        if unit in _SECONDS:
            return int(now.timestamp()) - n * _SECONDS[unit]
        months = n * (12 if unit == "year" else 1)
        return int(_months_back(now, months).timestamp())
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise UsageError(f"--at {field(text)}: no such date") from None
        end = dt.datetime.combine(day, dt.time(23, 59, 59))
        return int(end.astimezone().timestamp())
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", raw):
        try:
            moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--at {field(text)}: no such date and time") from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # local time, as git reads a time without a zone
        return int(moment.timestamp())
    raise UsageError(f"--at {field(text)}: not a moment mr reads; give {_FORMS}")


def _months_back(now: dt.datetime, months: int) -> dt.datetime:
    """``now`` the given number of calendar months earlier, the day clamped to the month's last."""
    import calendar

    total = now.year * 12 + (now.month - 1) - months
    year, month = divmod(total, 12)
    if year < 1:
        raise UsageError("--at: that is before the year 1")
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def text(moment: int) -> str:
    """A moment as messages show it: local date, time and offset."""
    return dt.datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
