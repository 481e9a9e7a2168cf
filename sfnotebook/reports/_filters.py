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

The column is a label as results show it ("Amount") or an API name (``AMOUNT``), resolved
with :class:`~sfnotebook.reports._columns.ColumnIndex`; the operator is an analyst's (``=``
``!=`` ``<`` ``>`` ``<=`` ``>=`` ``contains`` ``in`` ``not in``, see :data:`SYMBOLS`) or one of
the documented API operators. Once the report's ``/describe`` is in, the column must be one of
the report type's (``reportTypeMetadata``) and filterable, the operator one its
``dataTypeFilterOperatorMap`` allows for the column's type, and the value one that type takes
(a number, a date, true/false, a record Id); ``boolean_filter`` may only name filters that
exist and must name every one of them (Salesforce refuses "filter conditions [that] are
defined but not referenced in your filter logic"). Messages name a filter as the user wrote
it, "filter 1 of 2 ('Amount', '>', 100000)", also when Salesforce refuses it in the run
(:func:`explain_run_error`): its own numbers count the report's saved filters first.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sfnotebook._soql_bind import datetime_text, is_finite, is_missing, number_text, plain
from sfnotebook.errors import ReportFilterError, SalesforceError
from sfnotebook.reports._columns import ColumnIndex
from sfnotebook.reports._logic import check_logic_syntax, check_numbers
from sfnotebook.reports._paging import MAX_FILTERS, filter_operators

__all__ = [
    "OPERATORS",
    "SYMBOLS",
    "Filter",
    "FilterSpec",
    "check_against",
    "check_logic_syntax",
    "explain_run_error",
    "read_filters",
]

#: A filter for one run: ``{"column": ..., "operator": ..., "value": ...}`` or a
#: ``(column, operator, value)`` tuple.
FilterSpec = Mapping[str, object] | Sequence[object]

#: The documented filter operators (Filter Reports on Demand; salesforce-api.md 5.7).
OPERATORS = (
    "equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual",
    "contains", "notContain", "startsWith", "includes", "excludes", "within",
)  # fmt: skip
#: The analyst's operators and the API operator each stands for. ``in`` is ``equals`` with
#: several values: the API reads ``equals "A,B"`` as "A or B" (Filter Reports on Demand:
#: "Manufacturing,Recreation" matches either), and ``not in`` is ``notEqual`` likewise.
SYMBOLS = {
    "=": "equals", "==": "equals", "!=": "notEqual", "<>": "notEqual",
    "<": "lessThan", ">": "greaterThan", "<=": "lessOrEqual", ">=": "greaterOrEqual",
    "in": "equals", "not in": "notEqual", "contains": "contains",
}  # fmt: skip
_SHOWN = {"equals": "=", "notEqual": "!=", "lessThan": "<", "greaterThan": ">",
          "lessOrEqual": "<=", "greaterOrEqual": ">="}  # fmt: skip
_KEYS = ("column", "operator", "value")
# How Salesforce names a filter in a run's error: "For the filter 3: ..." (Report Error Codes
# page), and the column of "Specify a valid filterable column because X is invalid."
_RUN_FILTER = re.compile(r"(?:for the )?filter (\d+)\s*:?\s*", re.IGNORECASE)
_RUN_COLUMN = re.compile(r"because (\S+) is invalid", re.IGNORECASE)


@dataclass(frozen=True)
class Filter:
    """One filter of ``filters=``, read: its number as the user wrote it, and its API parts.

    ``column`` is as given (a label or an API name) until :func:`check_against` resolves it.
    """

    number: int
    total: int
    given: tuple[object, object, object]
    column: str
    operator: str
    value: str

    @property
    def where(self) -> str:
        """``"filter 1 of 2 ('Amount', '>', 100000)"``: how messages name it."""
        return f"filter {self.number} of {self.total} {self.given!r}"

    def api(self, column: str | None = None) -> dict[str, str]:
        """The Reports API filter object (with ``column`` resolved to its API name)."""
        return {"column": column or self.column, "operator": self.operator, "value": self.value}


# --------------------------------------------------------------------------- reading


def read_filters(filters: Iterable[FilterSpec] | None) -> list[Filter] | None:
    """The ``filters=`` of a run, each read and numbered as written, or ReportFilterError."""
    if filters is None:
        return None
    if isinstance(filters, str | Mapping) or (
        isinstance(filters, Sequence) and filters and isinstance(filters[0], str)
    ):
        raise ReportFilterError(
            f"filters takes a list of filters, e.g. filters=[('Amount', '>', 100000)], "
            f"not {filters!r}."
        )
    specs = list(filters)
    return [_read_one(n, len(specs), spec) for n, spec in enumerate(specs, 1)]


def _read_one(n: int, total: int, spec: FilterSpec) -> Filter:
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in _KEYS]
        missing = [k for k in ("column", "value") if k not in spec]
        if unknown or missing:
            raise ReportFilterError(
                f"Filter {n} of {total}: a filter dict has the keys 'column', 'operator' "
                "(default '=') and 'value'"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else "")
                + f": {spec!r}"
            )
        column, operator, value = spec["column"], spec.get("operator", "equals"), spec["value"]
    elif isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 3:
        column, operator, value = spec
    else:
        raise ReportFilterError(
            f"Filter {n} of {total}: a filter is a tuple (column, operator, value) such as "
            f"('Amount', '>', 100000), or a dict {{'column', 'operator', 'value'}}; not {spec!r}"
        )
    where = f"Filter {n} of {total} {(column, operator, value)!r}"
    if not isinstance(column, str) or not column.strip():
        raise ReportFilterError(
            f"{where}: the column must be a column's label or API name (a str such as "
            f"'Amount' or 'AMOUNT'), not {column!r}."
        )
    return Filter(
        number=n,
        total=total,
        given=(column, operator, value),
        column=column.strip(),
        operator=_operator(where, operator),
        value=_value(where, value),
    )


def _operator(where: str, operator: object) -> str:
    if isinstance(operator, str):
        text = " ".join(operator.split())
        if text in OPERATORS:
            return text
        if text.lower() in SYMBOLS:
            return SYMBOLS[text.lower()]
    choices = [*SYMBOLS, *OPERATORS]
    close: list[str] = []
    if isinstance(operator, str):
        text = " ".join(operator.split())
        if text[::-1] in SYMBOLS:  # "=>" for ">="
            close.append(text[::-1])
        close += difflib.get_close_matches(text, choices, n=3, cutoff=0.6)
        close += [o for o in OPERATORS if o.lower() == text.lower()]
    close = list(dict.fromkeys(close))
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    symbols = ", ".join(repr(k) for k in SYMBOLS if k not in ("==", "<>", "contains"))
    raise ReportFilterError(
        f"{where}: {operator!r} is not a report filter operator.{hint} The operators are "
        f"{symbols} and the API's {', '.join(OPERATORS)}.",
        close_matches=close,
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


# --------------------------------------------------------------------------- the describe


def check_against(
    describe: Mapping[str, Any],
    added: list[Filter] | None,
    boolean_filter: str | None,
) -> list[dict[str, str]] | None:
    """The added filters as API filter objects, their columns resolved from labels and
    checked (with the operators and the logic) against the report's describe, before the run.
    """
    columns = ColumnIndex(describe)
    out = None if added is None else [_check_column(f, columns, describe) for f in added]
    saved = (describe.get("reportMetadata") or {}).get("reportFilters") or []
    total = len(saved) + len(added or [])
    if added and total > MAX_FILTERS:
        raise ReportFilterError(
            f"The report has {len(saved)} filters and filters= adds {len(added)}: the Reports "
            f"API takes at most {MAX_FILTERS}. Use fewer filters."
        )
    if boolean_filter is not None and boolean_filter.strip():
        check_numbers(boolean_filter, total, len(saved))
    return out


def _check_column(flt: Filter, columns: ColumnIndex, describe: Mapping[str, Any]) -> dict[str, str]:
    if not columns:  # nothing to check against: the run itself decides
        return flt.api()
    where = flt.where[0].upper() + flt.where[1:]
    found = columns.resolve(flt.column)
    if len(found) > 1:
        raise ReportFilterError(
            f"{where}: {flt.column!r} is the label of {len(found)} columns of the report "
            f"type: {columns.describe_ambiguous(found)}. Name one by its API name.",
            close_matches=found,
        )
    if not found:
        close = columns.suggest(flt.column)
        hint = f" Did you mean {', '.join(map(columns.shown, close))}?" if close else ""
        raise ReportFilterError(
            f"{where}: the report has no column {flt.column!r}.{hint} {columns.listing()}",
            close_matches=close,
        )
    key = found[0]
    info = columns.columns[key]
    if info.get("filterable") is False:
        raise ReportFilterError(
            f"{where}: the column {columns.shown(key)} cannot be filtered on. {columns.listing()}"
        )
    data_type = str(info.get("dataType") or "").lower()
    allowed = filter_operators(describe, data_type)
    if allowed is not None and flt.operator not in allowed:
        ordered = [o for o in OPERATORS if o in allowed] + sorted(allowed - set(OPERATORS))
        shown = ", ".join(f"{_SHOWN[o]} ({o})" if o in _SHOWN else o for o in ordered)
        also = " and 'in' (a list of values)" if "equals" in allowed else ""
        raise ReportFilterError(
            f"{where}: {flt.given[1]!r} ({flt.operator}) does not apply to "
            f"{columns.shown(key)}, a {data_type} column; it takes {shown}{also}.",
            close_matches=ordered,
        )
    _check_value(where, flt, columns.shown(key), data_type)
    return flt.api(key)


_NUMERIC = frozenset({"currency", "double", "int", "percent", "number"})
_ORDERING = frozenset({"lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual"})
# The date forms of Salesforce's Report Error Codes page ("Accepted formats are
# yyyy-MM-dd'T'HH:mm:ss'Z' and yyyy-MM-dd"), and relative dates (TODAY, LAST_N_DAYS:30).
_DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?$")
# Relative dates are TODAY, YESTERDAY, TOMORROW or words joined by "_" (THIS_FISCAL_YEAR,
# LAST_N_DAYS:30); the org checks the word itself when the report runs.
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_RELATIVE_DATE = re.compile(
    r"^(?:TODAY|YESTERDAY|TOMORROW|[A-Z0-9]+(?:_[A-Z0-9]+)+(?::\d+)?)$", re.IGNORECASE
)


def _check_value(where: str, flt: Filter, shown: str, data_type: str) -> None:
    """A value the column's type cannot take, refused before it costs a run."""
    values = flt.value.split(",") if flt.value else [""]
    op = _SHOWN.get(flt.operator, flt.operator)
    if flt.operator in _ORDERING and values == [""]:
        raise ReportFilterError(f"{where}: {op!r} needs a value; blank goes with = or !=.")
    if flt.operator in _ORDERING and len(values) > 1:
        raise ReportFilterError(
            f"{where}: {op!r} compares with one value, not {len(values)}; "
            "a list goes with 'in' or 'not in'."
        )
    for text in values:
        if not text:
            continue
        if data_type in _NUMERIC:
            try:
                ok = is_finite(float(text))
            except ValueError:
                ok = False
            if not ok:
                raise ReportFilterError(
                    f"{where}: {shown} is a {data_type} column; {text!r} is not a number."
                )
        elif data_type in ("date", "datetime") and not (
            _DATE_VALUE.match(text) or _RELATIVE_DATE.match(text)
        ):
            raise ReportFilterError(
                f"{where}: {shown} is a {data_type} column; {text!r} is not a date. Pass a "
                "datetime.date, a time-zone-aware datetime, 'YYYY-MM-DD', or a relative date "
                "such as 'LAST_N_DAYS:30' or 'THIS_YEAR'."
            )
        elif (
            data_type == "id"
            and flt.operator in ("equals", "notEqual")
            and not _RECORD_ID.match(text)
        ):
            raise ReportFilterError(
                f"{where}: {shown} is an Id column; {text!r} is not a 15- or 18-character "
                "record Id ('startsWith' matches the start of one)."
            )
        elif data_type == "boolean" and text.lower() not in ("true", "false", "1", "0"):
            raise ReportFilterError(
                f"{where}: {shown} is a boolean column; pass True or False, not {text!r}."
            )


def explain_run_error(
    exc: SalesforceError,
    added: Sequence[Filter],
    sent: Sequence[Mapping[str, str]],
    saved: Sequence[Mapping[str, Any]],
) -> ReportFilterError | None:
    """A run's refusal of a filter, told with the filter as the user wrote it (or None).

    Salesforce numbers filters from the report's own (``reportFilters`` holds the saved ones
    first, then those of ``filters=``), so its "filter 3" may be the user's filter 1 of 1.
    """
    if exc.status != 400:
        return None
    message = str(getattr(exc, "sf_message", None) or exc)
    numbered = _RUN_FILTER.search(message)
    column = _RUN_COLUMN.search(message)
    which: Filter | None = None
    own = ""
    if numbered:
        k = int(numbered.group(1))
        if len(saved) < k <= len(saved) + len(added):
            which = added[k - len(saved) - 1]
        elif 1 <= k <= len(saved):
            s = saved[k - 1]
            own = f"the report's own filter {k} ({s.get('column')} {s.get('operator')} {s.get('value')!r})"
        message = message[: numbered.start()] + message[numbered.end() :]
    elif column:
        named = column.group(1).rstrip(".")
        matching = [i for i, d in enumerate(sent) if named in (d["column"], d["operator"])]
        which = added[matching[0]] if len(matching) == 1 else None
    if which is None and not own:
        # No number and no column: the filter whose value the message quotes, else the only
        # filter added when the message is about a filter (the saved ones ran without it).
        quoted = [i for i, d in enumerate(sent) if d["value"] and d["value"] in message]
        if len(quoted) == 1:
            which = added[quoted[0]]
        elif len(added) == 1 and "filter" in message.lower():
            which = added[0]
        else:
            return None
    what = which.where if which is not None else own
    return ReportFilterError(f"Salesforce refused {what}: {message.strip()}")
