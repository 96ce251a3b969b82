"""Moments for ``--at``: what is read, and everything else refused in one line."""

from __future__ import annotations

import datetime as dt

import pytest

from mr import when
from mr.errors import UsageError

NOW = dt.datetime(2026, 3, 31, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("@1700000000", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)),
        ("2026-11-01T14:30Z", dt.datetime(2026, 11, 1, 14, 30, tzinfo=dt.UTC)),
        ("2026-11-01 14:30:15+01:00", dt.datetime(2026, 11, 1, 13, 30, 15, tzinfo=dt.UTC)),
        ("2.weeks.ago", NOW - dt.timedelta(weeks=2)),
        ("3 days ago", NOW - dt.timedelta(days=3)),
        ("1.hour.ago", NOW - dt.timedelta(hours=1)),
        ("1.month.ago", dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)),  # the day clamped
        ("2.years.ago", dt.datetime(2024, 3, 31, 12, tzinfo=dt.UTC)),
    ],
)
def test_moments_read(text: str, expected: dt.datetime) -> None:
    assert when.parse(text, now=NOW) == int(expected.timestamp())


def test_a_date_means_the_end_of_that_day_in_local_time() -> None:
    end = dt.datetime(2026, 11, 1, 23, 59, 59).astimezone()
    assert when.parse("2026-11-01") == int(end.timestamp())


def test_a_time_without_a_zone_is_local_time() -> None:
    assert when.parse("2026-11-01T14:30") == int(dt.datetime(2026, 11, 1, 14, 30).astimezone().timestamp())


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("garbage", "not a moment mr reads"),
        ("yesterday-ish", "not a moment mr reads"),
        ("-x", "not a moment mr reads"),
        ("2026-02-30", "no such date"),
        ("2026-13-01T10:00", "no such date and time"),
        ("1.fortnight.ago", "not a moment mr reads"),
        ("\x1b[31mred", "not a moment mr reads"),
        ("", "not a moment mr reads"),
    ],
)
def test_anything_else_is_refused_in_one_line(text: str, said: str) -> None:
    with pytest.raises(UsageError) as e:
        when.parse(text, now=NOW)
    message = str(e.value)
    assert said in message and "\n" not in message and "\x1b" not in message
