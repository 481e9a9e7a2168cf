"""SOQL that a Bulk API 2.0 query job cannot run, refused before the job is created.

Salesforce's "Understanding Bulk API 2.0 Query" (api_asynch/queries.htm, "Limits" / "SOQL
Considerations"): "Bulk API 2.0 doesn't support SOQL queries that include any of these items:
GROUP BY, OFFSET, or TYPEOF clauses. Aggregate Functions such as COUNT(). Date functions in
GROUP BY clauses. (Date functions in WHERE clauses are supported.) Compound address fields or
compound geolocation fields. Parent-to-child relationship queries. (Child-to-parent
relationship queries are supported.)"

Sent anyway, such a query costs a round trip (and, on some orgs, a job of the 10,000 a day)
before Salesforce's terse refusal. Everything on that list that the text shows is refused here,
with the reason and what to use instead; compound fields need the describe to be recognised
and are left to Salesforce. A semi-join (``WHERE Id IN (SELECT ...)``) is not a
parent-to-child query and passes.
"""

from __future__ import annotations

import itertools
import re

from sfnotebook._soql_parse import Aggregate, SubSelect, parse_select
from sfnotebook.errors import InvalidArgumentError

__all__ = ["check_bulk_soql"]

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[()]")

_WHY = (
    "Bulk API 2.0 query jobs do not support {what}, so this query was not sent (Salesforce's "
    "Bulk API 2.0 query limits)."
)
_AGGREGATE_ADVICE = "Use org.query for aggregates and GROUP BY: it returns one row per group."


def _top_level_words(soql: str) -> list[str]:
    """The query's words outside string literals and parentheses, in upper case."""
    words: list[str] = []
    depth = 0
    for tok in _WORD.findall(_STRING.sub("''", soql)):
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            words.append(tok.upper())
    return words


def check_bulk_soql(soql: str) -> None:
    """Raise :class:`InvalidArgumentError` (``argument="soql"``) for SOQL Bulk API 2.0 refuses."""
    words = _top_level_words(soql)
    problem: tuple[str, str] | None = None
    if any(a == "GROUP" and b == "BY" for a, b in itertools.pairwise(words)):
        problem = ("GROUP BY", _AGGREGATE_ADVICE)
    elif "OFFSET" in words:
        problem = (
            "OFFSET",
            "Drop OFFSET: extract reads every row anyway (filter with WHERE to read fewer), or "
            "use org.query for an OFFSET page.",
        )
    elif "TYPEOF" in (w.upper() for w in _WORD.findall(_STRING.sub("''", soql))):
        problem = (
            "TYPEOF",
            "Select the polymorphic field's Id and Type (What.Type, WhatId) and look the parents "
            "up with a second extract, or use org.query, which runs TYPEOF.",
        )
    else:
        select = parse_select(soql)
        items = select.items if select is not None else ()
        if any(isinstance(item, Aggregate) for item in items):
            problem = ("aggregate functions such as COUNT() or SUM()", _AGGREGATE_ADVICE)
        elif any(isinstance(item, SubSelect) for item in items):
            problem = (
                "parent-to-child subqueries (a SELECT inside the field list)",
                "Extract the child object on its own with its parent's Id (SELECT Id, "
                "AccountId FROM Contact) and join the frames, or use org.query, which reads "
                "subqueries.",
            )
    if problem is not None:
        what, advice = problem
        raise InvalidArgumentError(f"{_WHY.format(what=what)} {advice}", argument="soql")
