"""Report filters for one run: read before any request, checked against the describe before the run.

A filter's ``value`` is one string in the Reports API (Filter Reports on Demand,
developer.salesforce.com/docs/analytics/salesforce-analytics-rest-api/guide/
sforce-analytics-rest-api-filter-reportdata.html): a comma separates values
(``"Manufacturing,Recreation"`` is either one), and no escape for a comma inside one value
is documented. The report UI takes ``"John, Jane"`` in double quotes as one value (a
salesforce.stackexchange.com answer, questions/165231, says filters follow CSV rules), but
that is neither documented for the API nor observed on it. So:

* several values are a list, tuple or set, joined with commas; ``"Manufacturing,Recreation"``
  written as one string is refused, and so is any value (a string, or an item of a list) that
  holds a comma or begins with a double quote: a comma would split it and a leading quote may
  be read as quoting, so it would not match as the one value it is. The error says what to do
  (a list; ``contains`` on a part without the comma; ``org.query`` with ``params=``);
* ``None`` is ``""``, which the API reads as blank (``notEqual ""`` is "is not blank": the
  salesforcer package's report vignette, rdrr.io/cran/salesforcer); empty lists, and items
  that are ``None`` or empty, are refused;
* numbers are plain digits; NaN, NaT and infinities are refused; dates ``YYYY-MM-DD``;
  datetimes must carry a time zone and whole seconds and go as UTC ``YYYY-MM-DDThh:mm:ssZ``
  (values are "interpreted in GMT": salesforce-api.md 5.7).

The operator must be one of the documented ones, and, once the report's ``/describe`` is in,
one its ``dataTypeFilterOperatorMap`` allows for the column's type; the column must be one of
the report type's (``reportTypeMetadata``) and filterable; ``boolean_filter`` may only name
filters that exist and must name every one of them (Salesforce refuses "filter conditions
[that] are defined but not referenced in your filter logic").
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sfnotebook._soql_bind import datetime_text, is_finite, is_missing, number_text, plain
from sfnotebook.errors import ReportFilterError
from sfnotebook.reports._paging import MAX_FILTERS, filter_operators, type_columns

__all__ = ["OPERATORS", "FilterSpec", "check_against", "check_logic_syntax", "read_filters"]

#: A filter for one run: ``{"column": ..., "operator": ..., "value": ...}`` or a
#: ``(column, operator, value)`` tuple.
FilterSpec = Mapping[str, object] | Sequence[object]

#: The documented filter operators (Filter Reports on Demand; salesforce-api.md 5.7).
OPERATORS = (
    "equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual",
    "contains", "notContain", "startsWith", "includes", "excludes", "within",
)  # fmt: skip
_KEYS = ("column", "operator", "value")
# Spaces are optional: Salesforce's own example is "(1OR4)AND2AND3".
_LOGIC_TOKEN = re.compile(r"\s*(?:(\d+)|(AND|OR|NOT)|([()]))", re.IGNORECASE)


# --------------------------------------------------------------------------- reading


def read_filters(filters: Iterable[FilterSpec] | None) -> list[dict[str, str]] | None:
    """The ``filters=`` of a run as Reports API filter objects, or ReportFilterError."""
    if filters is None:
        return None
    if isinstance(filters, str | Mapping) or (
        isinstance(filters, Sequence) and filters and isinstance(filters[0], str)
    ):
        raise ReportFilterError(
            f"filters takes a list of filters, e.g. filters=[('AMOUNT', 'greaterThan', 5)], "
            f"not {filters!r}."
        )
    return [_filter_dict(n, spec) for n, spec in enumerate(filters, 1)]


def _filter_dict(n: int, spec: FilterSpec) -> dict[str, str]:
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in _KEYS]
        missing = [k for k in ("column", "value") if k not in spec]
        if unknown or missing:
            raise ReportFilterError(
                f"Filter {n}: a filter dict has the keys 'column', 'operator' (default "
                f"'equals') and 'value'"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else "")
                + f": {spec!r}"
            )
        column, operator, value = spec["column"], spec.get("operator", "equals"), spec["value"]
    elif isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 3:
        column, operator, value = spec
    else:
        raise ReportFilterError(
            f"Filter {n}: a filter is a dict {{'column', 'operator', 'value'}} or a tuple "
            f"(column, operator, value), not {spec!r}"
        )
    if not isinstance(column, str) or not column.strip():
        raise ReportFilterError(
            f"Filter {n}: the column must be a column's API name (a str such as "
            f"'AMOUNT'), not {column!r}."
        )
    return {
        "column": column,
        "operator": _operator(n, operator),
        "value": _value(f"Filter {n} ({column})", value),
    }


def _operator(n: int, operator: object) -> str:
    if isinstance(operator, str) and operator in OPERATORS:
        return operator
    close = (
        difflib.get_close_matches(operator, OPERATORS, n=3, cutoff=0.6)
        if isinstance(operator, str)
        else []
    )
    close += [o for o in OPERATORS if isinstance(operator, str) and o.lower() == operator.lower()]
    hint = f" Did you mean {', '.join(repr(c) for c in dict.fromkeys(close))}?" if close else ""
    raise ReportFilterError(
        f"Filter {n}: {operator!r} is not a report filter operator.{hint} The operators are "
        f"{', '.join(OPERATORS)}.",
        close_matches=list(dict.fromkeys(close)),
    )


def _value(where: str, value: Any) -> str:
    value = plain(value)
    if value is None or (isinstance(value, str) and not value):
        return ""  # blank
    if isinstance(value, list):
        return _list_value(where, value)
    return _one_value(where, value, value if isinstance(value, str) else _scalar(where, value))


def _list_value(where: str, items: list[Any]) -> str:
    if not items:
        raise ReportFilterError(
            f"{where}: the value is an empty list; a filter needs at least one value "
            "(leave the filter out to match everything)."
        )
    out = []
    for item in items:
        if isinstance(item, list) or item is None or (isinstance(item, str) and not item):
            raise ReportFilterError(
                f"{where}: the list holds {item!r}; a filter list holds values only (filter "
                "on blank with its own filter, value None, and boolean_filter '1 OR 2')."
            )
        out.append(_one_value(where, item, item if isinstance(item, str) else _scalar(where, item)))
    return ",".join(out)


def _one_value(where: str, given: Any, text: str) -> str:
    """``text`` if the Reports API will read it as one value, else ReportFilterError."""
    if "," in text or text.startswith('"'):
        what = "a comma" if "," in text else "a leading double quote"
        several = (
            " Several values are a list: ['Closed Won', 'Closed Lost']."
            if (isinstance(given, str) and "," in text)
            else ""
        )
        raise ReportFilterError(
            f"{where}: the value {given!r} holds {what}. The Reports API splits a filter "
            "value at commas and documents no way to keep one inside a value, so it would "
            f"not match as one value.{several} To match it, filter with 'contains' on a part "
            "without the comma (combined with boolean_filter), or select the rows with "
            "org.query(..., params=...)."
        )
    return text


def _scalar(where: str, value: Any) -> str:
    if is_missing(value):
        raise ReportFilterError(
            f"{where}: the value is {value!r}, a missing value. Pass None to filter on blank."
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        if not is_finite(value):
            raise ReportFilterError(f"{where}: the value is {value!r}; filter numbers are finite.")
        return number_text(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ReportFilterError(
                f"{where}: the datetime {value.isoformat()} has no time zone; say which "
                "(value.replace(tzinfo=datetime.timezone.utc)): the API reads datetimes in GMT."
            )
        if value.microsecond or getattr(value, "nanosecond", 0):
            raise ReportFilterError(
                f"{where}: the datetime {value.isoformat()} has a fraction of a second; "
                "filter datetimes have whole seconds. Round it (value.replace(microsecond=0))."
            )
        return datetime_text(value)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    raise ReportFilterError(
        f"{where}: a {type(value).__name__} cannot be a filter value (use a str, a number, "
        "a bool, a date, a time-zone-aware datetime, None for blank, or a list of them)."
    )


# --------------------------------------------------------------------------- logic


def _logic_tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        m = _LOGIC_TOKEN.match(text, pos)
        if m is None:
            raise ReportFilterError(
                f"boolean_filter {text!r}: unexpected {text[pos:].strip()[:20]!r}; write filter "
                "numbers with AND, OR, NOT and parentheses, e.g. '(1 OR 2) AND 3'.",
                argument="boolean_filter",
            )
        tokens.append((m.group(1) or m.group(2) or m.group(3)).upper())
        pos = m.end()
    return tokens


def check_logic_syntax(text: str) -> list[int]:
    """The filter numbers ``text`` names, or ReportFilterError for logic Salesforce refuses.

    Salesforce needs parentheses where AND and OR meet ("1 AND 2 OR 3" is refused).
    """
    tokens = _logic_tokens(text)
    numbers: list[int] = []
    pos = 0

    def fail(why: str) -> ReportFilterError:
        return ReportFilterError(
            f"boolean_filter {text!r}: {why}; e.g. '(1 OR 2) AND 3'.", argument="boolean_filter"
        )

    def term() -> None:
        nonlocal pos
        tok = tokens[pos] if pos < len(tokens) else ""
        pos += 1
        if tok == "NOT":
            term()
        elif tok == "(":
            expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise fail("a '(' is not closed")
            pos += 1
        elif tok.isdigit():
            numbers.append(int(tok))
        else:
            raise fail(f"expected a filter number, found {tok or 'the end'!r}")

    def expr() -> None:
        nonlocal pos
        term()
        joiner = None
        while pos < len(tokens) and tokens[pos] in ("AND", "OR"):
            if joiner not in (None, tokens[pos]):
                raise fail("AND and OR meet without parentheses")
            joiner = tokens[pos]
            pos += 1
            term()

    expr()
    if pos != len(tokens):
        raise fail(f"unexpected {tokens[pos]!r}")
    return numbers


# --------------------------------------------------------------------------- the describe


def check_against(
    describe: Mapping[str, Any],
    added: list[dict[str, str]] | None,
    boolean_filter: str | None,
) -> None:
    """The added filters and the logic against the report's describe, before the run."""
    columns = type_columns(describe)
    for n, flt in enumerate(added or [], 1):
        if columns:
            _check_column(n, flt, columns, describe)
    saved = (describe.get("reportMetadata") or {}).get("reportFilters") or []
    total = len(saved) + len(added or [])
    if added and total > MAX_FILTERS:
        raise ReportFilterError(
            f"The report has {len(saved)} filters and filters= adds {len(added)}: the Reports "
            f"API takes at most {MAX_FILTERS}. Use fewer filters."
        )
    if boolean_filter is not None and boolean_filter.strip():
        _check_numbers(boolean_filter, total, len(saved))


def _check_column(
    n: int, flt: Mapping[str, str], columns: Mapping[str, Any], describe: Mapping[str, Any]
) -> None:
    column = flt["column"]
    info = columns.get(column)
    if not isinstance(info, Mapping):
        by_label = [
            k
            for k, v in columns.items()
            if isinstance(v, Mapping) and str(v.get("label") or "").casefold() == column.casefold()
        ]
        same_case = [k for k in columns if k.casefold() == column.casefold()]
        close = by_label + same_case
        close += difflib.get_close_matches(column, list(columns), n=5, cutoff=0.6)
        close = list(dict.fromkeys(close))
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ReportFilterError(
            f"Filter {n}: the report type has no column {column!r}.{hint} Filter columns are "
            "API names; org.describe_report(...)['reportTypeMetadata'] lists them.",
            close_matches=close,
        )
    if info.get("filterable") is False:
        raise ReportFilterError(f"Filter {n}: the column {column!r} cannot be filtered on.")
    data_type = str(info.get("dataType") or "").lower()
    allowed = filter_operators(describe, data_type)
    if allowed is not None and flt["operator"] not in allowed:
        raise ReportFilterError(
            f"Filter {n}: {flt['operator']!r} does not apply to {column!r} (a {data_type} "
            f"column); it takes {', '.join(sorted(allowed))}.",
            close_matches=sorted(allowed),
        )


def _check_numbers(text: str, total: int, saved: int) -> None:
    named = check_logic_syntax(text)
    where = f"{saved} saved in the report, then {total - saved} from filters="
    beyond = sorted({k for k in named if not 1 <= k <= total})
    if beyond:
        raise ReportFilterError(
            f"boolean_filter {text!r} names filter {', '.join(map(str, beyond))}, but there "
            f"are {total} filters ({where}).",
            argument="boolean_filter",
        )
    unnamed = [k for k in range(1, total + 1) if k not in named]
    if unnamed:
        raise ReportFilterError(
            f"boolean_filter {text!r} does not name filter {', '.join(map(str, unnamed))} of "
            f"the {total} ({where}); Salesforce refuses filters left out of the logic.",
            argument="boolean_filter",
        )
