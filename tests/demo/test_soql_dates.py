"""SOQL date literal ranges of the demo org, evaluated against a fixed day."""

from __future__ import annotations

import datetime as dt

import pytest

from sfnotebook_demo.soql.dates import date_literal_range, datetime_literal_to_storage

D = dt.date
TODAY = D(2024, 5, 15)  # a Wednesday in Q2


@pytest.mark.parametrize(
    ("name", "n", "start", "end"),
    [
        ("TODAY", None, D(2024, 5, 15), D(2024, 5, 16)),
        ("YESTERDAY", None, D(2024, 5, 14), D(2024, 5, 15)),
        ("TOMORROW", None, D(2024, 5, 16), D(2024, 5, 17)),
        ("THIS_WEEK", None, D(2024, 5, 12), D(2024, 5, 19)),  # weeks start on Sunday
        ("LAST_WEEK", None, D(2024, 5, 5), D(2024, 5, 12)),
        ("NEXT_WEEK", None, D(2024, 5, 19), D(2024, 5, 26)),
        ("THIS_MONTH", None, D(2024, 5, 1), D(2024, 6, 1)),
        ("LAST_MONTH", None, D(2024, 4, 1), D(2024, 5, 1)),
        ("NEXT_MONTH", None, D(2024, 6, 1), D(2024, 7, 1)),
        ("THIS_QUARTER", None, D(2024, 4, 1), D(2024, 7, 1)),
        ("LAST_QUARTER", None, D(2024, 1, 1), D(2024, 4, 1)),
        ("NEXT_QUARTER", None, D(2024, 7, 1), D(2024, 10, 1)),
        ("THIS_YEAR", None, D(2024, 1, 1), D(2025, 1, 1)),
        ("LAST_YEAR", None, D(2023, 1, 1), D(2024, 1, 1)),
        ("NEXT_YEAR", None, D(2025, 1, 1), D(2026, 1, 1)),
        ("THIS_FISCAL_YEAR", None, D(2024, 1, 1), D(2025, 1, 1)),
        ("LAST_90_DAYS", None, D(2024, 2, 15), D(2024, 5, 16)),
        ("NEXT_90_DAYS", None, D(2024, 5, 16), D(2024, 8, 14)),
        ("LAST_N_DAYS", 7, D(2024, 5, 8), D(2024, 5, 16)),
        ("NEXT_N_DAYS", 7, D(2024, 5, 16), D(2024, 5, 23)),
        ("N_DAYS_AGO", 3, D(2024, 5, 12), D(2024, 5, 13)),
        ("LAST_N_MONTHS", 2, D(2024, 3, 1), D(2024, 5, 1)),
        ("NEXT_N_MONTHS", 2, D(2024, 6, 1), D(2024, 8, 1)),
        ("LAST_N_YEARS", 2, D(2022, 1, 1), D(2024, 1, 1)),
        ("NEXT_N_YEARS", 1, D(2025, 1, 1), D(2026, 1, 1)),
    ],
)
def test_ranges(name: str, n: int | None, start: dt.date, end: dt.date) -> None:
    assert date_literal_range(name, n, TODAY) == (start, end)


def test_month_arithmetic_crosses_years() -> None:
    assert date_literal_range("NEXT_MONTH", None, D(2024, 12, 31)) == (D(2025, 1, 1), D(2025, 2, 1))
    assert date_literal_range("LAST_QUARTER", None, D(2024, 2, 1)) == (
        D(2023, 10, 1),
        D(2024, 1, 1),
    )


def test_default_is_the_current_utc_day() -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    start, end = date_literal_range("TODAY", None)
    assert start in (today, today + dt.timedelta(days=1))  # a run across midnight
    assert end - start == dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("literal", "stored"),
    [
        ("2024-01-31T10:00:00Z", "2024-01-31T10:00:00.000+0000"),
        ("2024-01-31T10:00:00.250Z", "2024-01-31T10:00:00.250+0000"),
        ("2024-01-31T01:00:00+02:00", "2024-01-30T23:00:00.000+0000"),
        ("2024-01-31T20:00:00-0500", "2024-02-01T01:00:00.000+0000"),
    ],
)
def test_datetime_literals_become_utc_storage_text(literal: str, stored: str) -> None:
    assert datetime_literal_to_storage(literal) == stored
