"""``OFFSET`` queries: what their ``totalSize`` means, and when a result is cut short (D5).

Salesforce treats a top-level ``OFFSET`` query differently from others, and reports disagree
with the way the rest of the REST API pages:

* ``totalSize`` is capped at 2,000: with ``LIMIT 10000 OFFSET 0`` over more rows, "the maximum
  value returned in the totalSize JSON property of the REST response body is 2000"
  (cropredysfdc.com, 2015, "REST SOQL OFFSET and LIMIT - 2000 records"), and exactly 2,000
  rows came back;
* only the first batch may come back, ``done: true``: "When using OFFSET, only the first batch
  of records are returned for a given query. If you want to retrieve the next batch, you'll
  need to re-execute the query with a higher offset value" (SOSL reference, OFFSET);
* an ``OFFSET`` above 2,000 is refused with ``NUMBER_OUTSIDE_VALID_RANGE`` (SOQL reference,
  OFFSET), raised as Salesforce's error with advice (``sfnotebook.errors``).

So an ``OFFSET`` query asks for no smaller batch than Salesforce's 2,000 (a batch of 200 could
be all that comes back), and its result is checked against both ways of being short: fewer
rows than ``totalSize`` with ``done: true``, and a ``totalSize`` of exactly 2,000 where the
query allowed more (``LIMIT`` absent or above 2,000), which may be the cap rather than the
count. The second check can fire when exactly 2,000 rows remain; ``LIMIT 2000`` then says that
2,000 is all the query wants, and the check passes. Orgs that page OFFSET queries like any
other (``totalSize`` above 2,000) pass both checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfnotebook import _soql_parse as sp
from sfnotebook.errors import IncompleteResultError

__all__ = ["CAP", "Window", "window"]

CAP = 2000  # rows an OFFSET query's totalSize may reach


@dataclass(frozen=True)
class Window:
    """A query's top-level ``LIMIT`` and ``OFFSET`` (``None`` when it has none)."""

    limit: int | None
    offset: int | None

    def batch_size(self, asked: int | None) -> int | None:
        """The batch size to ask for: none smaller than Salesforce's own for OFFSET queries."""
        return None if self.offset is not None else asked

    def check(self, total: int, received: int) -> None:
        """Raise when an OFFSET query's result is, or may be, short of what it asked for."""
        if self.offset is None:
            return
        advice = (
            "For more rows than one batch, drop OFFSET and page on a key (ORDER BY Id, then "
            "WHERE Id > the last Id), or read it all with org.extract."
        )
        if received < total:
            raise IncompleteResultError(
                f"Salesforce sent {received:,} of the {total:,} rows of this OFFSET query and "
                "called it done: for OFFSET queries it may send only the first batch. No partial "
                f"result is returned. {advice}",
                expected=total,
                received=received,
            )
        if total == CAP and (self.limit is None or self.limit > CAP):
            raise IncompleteResultError(
                f"This OFFSET query returned {CAP:,} rows, the most Salesforce counts for an "
                "OFFSET query, so rows past them may exist and were not sent. No partial result "
                f"is returned. If {CAP:,} rows are all you want, say LIMIT {CAP}. {advice}",
                expected=None,
                received=received,
            )


def window(soql: str) -> Window:
    """The ``LIMIT`` and ``OFFSET`` of ``soql``'s top level."""
    limit, offset = sp.limit_and_offset(soql)
    return Window(limit, offset)
