"""Opportunity rows, generated a column at a time with numpy (the only table that scales to
1,000,000 rows; a row-at-a-time generator took over a minute for that).

Values follow the same rules as the row-wise generators in :mod:`sfnotebook_demo.data.seed`:
StageName decides Probability, ForecastCategoryName, IsClosed and IsWon. Closed deals closed
within the last three years, more of them every month (a business growing 30% a year, see
:func:`~sfnotebook_demo.data.dating.days_back_growing`), each created up to six months before it
closed; open deals were created within the last nine months and close within the next year (a
few are overdue). A share of the Closed Lost deals came in one legacy import, closed on
:func:`~sfnotebook_demo.data.dating.legacy_import_day` (before every other close date) and
created up to six months before it. Every nullable field has nulls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from sfnotebook_demo.data import schema as s
from sfnotebook_demo.data.dating import (
    LEGACY_SHARE,
    SALES_CYCLE_DAYS,
    days_back_growing,
    legacy_import_day,
)
from sfnotebook_demo.data.vocabulary import NEXT_STEPS, PRODUCTS, QUIRKY_TEXT
from sfnotebook_demo.ids import make_id

__all__ = ["OpportunitySource", "opportunity_rows"]


class OpportunitySource(Protocol):
    """What the columns are drawn from: a :class:`~sfnotebook_demo.data.seed.Seeder`.

    Its seed, the build day (an ordinal), the time-of-day strings, and the users and accounts it
    generated before the opportunities.
    """

    seed: int
    today: int
    times: list[str]
    user_ids: list[str]
    account_ids: list[str]
    account_names: list[str]


_DISCOUNTS = (0.0, 5.0, 10.0, 12.5, 15.0, 20.0, 25.0)
_FOLLOW_UPS = tuple(f"{h:02d}:{m:02d}:00.000Z" for h in range(8, 18) for m in (0, 15, 30, 45))
_COMPETITOR_SETS: tuple[str | None, ...] = tuple(
    ";".join(c for k, c in enumerate(s.COMPETITORS) if mask >> k & 1) or None
    for mask in range(1 << len(s.COMPETITORS))
)
_STAGE_WEIGHTS = (6, 6, 5, 5, 5, 5, 7, 6, 25, 30)  # Closed Won 25%, Closed Lost 30%


def _pick(values: Sequence[Any], index: np.ndarray, null: np.ndarray | None = None) -> list[Any]:
    """``values[index[i]]`` per row, ``None`` where ``null`` is true."""
    picked = [values[i] for i in index.tolist()]
    if null is None:
        return picked
    return [None if n else v for v, n in zip(picked, null.tolist(), strict=True)]


def _nullable(values: list[Any], null: np.ndarray) -> list[Any]:
    return [None if n else v for v, n in zip(values, null.tolist(), strict=True)]


CHUNK = 100_000  # rows generated at once: bounds memory at 1,000,000 rows


def opportunity_rows(seeder: OpportunitySource, total: int) -> Iterator[tuple[Any, ...]]:
    """The ``total`` Opportunity rows as tuples in table column order."""
    g = np.random.default_rng([seeder.seed, 6])
    for start in range(0, total, CHUNK):
        yield from _chunk(seeder, g, start, min(CHUNK, total - start))


def _chunk(
    seeder: OpportunitySource, g: np.random.Generator, start: int, n: int
) -> Iterator[tuple[Any, ...]]:
    def u() -> np.ndarray:
        return g.random(n)

    pos = np.arange(start, start + n)
    today = seeder.today

    lo_day = legacy_import_day(today) - 366
    hi_day = today + 2 * 366
    days = [dt.date.fromordinal(o) for o in range(lo_day, hi_day)]
    day_text = [d.isoformat() for d in days]
    times = seeder.times

    def day(ords: np.ndarray) -> list[str]:
        return [day_text[o] for o in (ords - lo_day).tolist()]

    def stamp(ords: np.ndarray) -> list[str]:
        secs = g.integers(0, 86400, n).tolist()
        return [day_text[o] + times[t] for o, t in zip((ords - lo_day).tolist(), secs, strict=True)]

    users = seeder.user_ids
    accounts = seeder.account_ids
    stages = tuple(s.STAGES)
    cum = np.cumsum(_STAGE_WEIGHTS) / sum(_STAGE_WEIGHTS)
    stage = np.minimum(np.searchsorted(cum, u(), side="right"), len(stages) - 1)
    stage_info = [s.STAGES[name] for name in stages]
    prob = np.array([info[0] for info in stage_info])[stage]
    closed = np.array([info[2] for info in stage_info])[stage]
    won = np.array([info[3] for info in stage_info])[stage]

    # Closed: closed on a day of the last three years (more of them each month), created up
    # to six months before. Open: created within the last nine months; nine in ten close
    # within the next year, the rest are overdue (a close date since creation, before today).
    # Legacy: an older CRM's deals, imported closed lost on one day (their creation dates kept,
    # as a migration with Salesforce's "Set Audit Fields upon Record Creation" keeps them).
    lost = np.array([name == "Closed Lost" for name in stages])[stage]
    legacy = lost & (u() < LEGACY_SHARE)
    imported = legacy_import_day(today)
    closed_on = np.where(legacy, imported, today - 1 - days_back_growing(u()))
    open_created = today - 1 - g.integers(0, 270, n)
    created = np.where(closed, closed_on - g.integers(0, SALES_CYCLE_DAYS, n), open_created)
    overdue = np.maximum(today - 1 - g.integers(0, 60, n), open_created)
    open_close = np.where(u() < 0.9, today + g.integers(0, 365, n), overdue)
    close = np.where(closed, closed_on, open_close)
    # Last touched after creation (closed deals: on or after closing), never after yesterday.
    touched = np.where(closed, closed_on, created)
    modified = np.minimum(touched + g.integers(0, 60, n), today - 1)
    created_at = stamp(created)
    modified_at = stamp(modified)
    # Same day: keep CreatedDate <= LastModifiedDate by reusing the modification stamp.
    created_at = [m if c > m else c for c, m in zip(created_at, modified_at, strict=True)]
    close_idx = (close - lo_day).tolist()
    year = [days[o].year for o in close_idx]
    quarter = [(days[o].month - 1) // 3 + 1 for o in close_idx]

    amount = np.round(g.lognormal(10, 1.2, n), 2)
    amount_null = u() >= 0.93
    account_idx = g.integers(0, len(accounts), n)
    account_null = u() >= 0.98
    names = seeder.account_names
    product = g.integers(0, len(PRODUCTS), n).tolist()
    opp_names = [
        f"Unassigned - {PRODUCTS[p]}" if nul else f"{names[a]} - {PRODUCTS[p]}"
        for a, p, nul in zip(account_idx.tolist(), product, account_null.tolist(), strict=True)
    ]
    competitor_mask = (g.random((n, len(s.COMPETITORS))) < 0.25) @ (
        1 << np.arange(len(s.COMPETITORS))
    )

    columns: dict[str, list[Any]] = {
        "Id": [make_id("006", i) for i in range(start, start + n)],
        "AccountId": _pick(accounts, account_idx, account_null),
        "IsPrivate": (u() < 0.03).astype(int).tolist(),
        "Name": opp_names,
        "Description": _pick(QUIRKY_TEXT, g.integers(0, len(QUIRKY_TEXT), n), u() >= 0.1),
        "StageName": _pick(stages, stage),
        "Amount": _nullable(amount.tolist(), amount_null),
        "Probability": prob.tolist(),
        "ExpectedRevenue": _nullable(np.round(amount * prob / 100, 2).tolist(), amount_null),
        "TotalOpportunityQuantity": _nullable((1.0 + g.integers(0, 500, n)).tolist(), u() >= 0.6),
        "CloseDate": day(close),
        "Type": _pick(s.OPPORTUNITY_TYPES, g.integers(0, 4, n), u() >= 0.9),
        "NextStep": _pick(NEXT_STEPS, g.integers(0, len(NEXT_STEPS), n), closed | (u() >= 0.6)),
        "LeadSource": _pick(s.LEAD_SOURCES, g.integers(0, 10, n), u() >= 0.75),
        "IsClosed": closed.astype(int).tolist(),
        "IsWon": won.astype(int).tolist(),
        "ForecastCategoryName": _pick([info[1] for info in stage_info], stage),
        "FiscalQuarter": quarter,
        "FiscalYear": year,
        "Fiscal": [f"{y} {q}" for y, q in zip(year, quarter, strict=True)],
        "LastActivityDate": _nullable(
            day(np.minimum(created + g.integers(0, 200, n), today - 1)), u() >= 0.4
        ),
        "Competitors__c": _pick(_COMPETITOR_SETS, competitor_mask, u() >= 0.55),
        "Follow_Up_Time__c": _pick(_FOLLOW_UPS, g.integers(0, len(_FOLLOW_UPS), n), u() >= 0.5),
        "Discount__c": _pick(_DISCOUNTS, g.integers(0, len(_DISCOUNTS), n), u() >= 0.4),
        "Seats__c": _nullable((1 + g.lognormal(3, 1.2, n).astype(int)).tolist(), u() >= 0.7),
        "Contract_Signed__c": (won & (u() < 0.8)).astype(int).tolist(),
        "Next_Call__c": _nullable(stamp(today + g.integers(0, 30, n)), closed | (u() >= 0.3)),
        "IsDeleted": ((u() < 0.02) & (pos > 0)).astype(int).tolist(),
        "OwnerId": _pick(users, g.integers(0, len(users), n)),
        "CreatedDate": created_at,
        "CreatedById": _pick(users, g.integers(0, len(users), n)),
        "LastModifiedDate": modified_at,
        "LastModifiedById": _pick(users, g.integers(0, len(users), n)),
        "SystemModstamp": modified_at,
    }
    ordered = [columns[name] for name in s.SCHEMA["Opportunity"].columns]
    return zip(*ordered, strict=True)
