"""Report filters and filter logic, compiled to SQL (private to the demo reports feature).

Semantics (documented here because the client's keyset paging depends on them):

* Operators per column type are Salesforce's documented ``dataTypeFilterOperatorMap``
  (:data:`DOCUMENTED_OPERATORS`, from the Filter Operator List of the Analytics REST API guide:
  ``id`` takes only equals, notEqual and startsWith, ``reference`` equals and notEqual); the
  ``id_filter_operators`` dialect can give ``id`` the comparisons too (:func:`type_operators`).
  Any other operator is refused with 400 "Specify a valid condition because <operator> is
  invalid." (Report Error Codes page; that the placeholder is the operator is UNVERIFIED).
* Text columns (string, picklist, multipicklist, ...) compare equality and containment
  **case-insensitively**; ``lessThan`` / ``greaterThan`` / ... compare **case-sensitively**
  (binary), as Salesforce's KB says of ``lessThan`` on a ``CASESAFEID`` text formula, while
  sorting ignores case: so text columns cannot page. Lookup and name columns compare their
  *label* (the account or owner name, the opportunity name). ``id`` columns compare the
  18-character Id exactly (a 15-character value is widened first); an Id value that is not 15
  or 18 characters is refused with the documented "The filter value for ID <value> is
  incorrect..." message.
* ``equals`` / ``notEqual`` take comma-separated lists (any / none of the values); ``contains``,
  ``notContain`` and ``startsWith`` too. An empty value means "is blank". ``notEqual`` and
  ``notContain`` keep blank cells, as Salesforce does.
* Numbers: ``"100,000"`` (groups of three digits after commas) is one number; other commas
  separate a list. A ``USD `` or ``$`` prefix is ignored.
* Dates take the two documented formats, ``yyyy-MM-dd'T'HH:mm:ss'Z'`` and ``yyyy-MM-dd``
  (anything else, milliseconds or ``+0000`` included, is refused with 400 "Filter the date in
  the correct format. Accepted formats are yyyy-MM-dd'T'HH:mm:ss'Z' and yyyy-MM-dd."), and
  relative values (``TODAY``, ``THIS_YEAR``, ``LAST_N_DAYS:30``, ... evaluated in GMT). A date
  value on a datetime column means that whole GMT day; a datetime value that whole second.
  Relative values are ranges: ``equals THIS_YEAR`` is within the year, ``greaterThan
  THIS_YEAR`` after its end, ``lessThan THIS_YEAR`` before its start.
* ``reportBooleanFilter`` uses 1-based filter numbers with ``AND``, ``OR``, ``NOT`` and
  parentheses (spaces optional: ``(1OR4)AND2``); mixing AND and OR at one level without
  parentheses, unknown numbers and unreferenced filters are errors, as on Salesforce.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sfnotebook_demo.reports.dates import DATETIME, date_range, day_stamp
from sfnotebook_demo.reports.defs import COLUMNS, Column, case_safe_id
from sfnotebook_demo.reports.logic import ReportError, evaluate_logic, logic_sql, parse_logic

__all__ = [
    "DOCUMENTED_OPERATORS",
    "MAX_FILTERS",
    "OPERATOR_LABELS",
    "ReportError",
    "compile_filters",
    "date_range",
    "evaluate_logic",
    "parse_logic",
    "type_operators",
]

MAX_FILTERS = 20


OPERATOR_LABELS: dict[str, str] = {
    "equals": "equals",
    "notEqual": "not equal to",
    "lessThan": "less than",
    "greaterThan": "greater than",
    "lessOrEqual": "less or equal",
    "greaterOrEqual": "greater or equal",
    "contains": "contains",
    "notContain": "does not contain",
    "startsWith": "starts with",
    "includes": "includes",
    "excludes": "excludes",
}

_COMPARE = ("equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual")
_TEXT = (*_COMPARE, "contains", "notContain", "startsWith")
# The Filter Operator List (GET /analytics/filteroperators, the same shape as a describe's
# reportTypeMetadata.dataTypeFilterOperatorMap), v67.0 guide: developer.salesforce.com/docs/
# analytics/salesforce-analytics-rest-api/guide/analytics-api-filteroperators-reference-list.html
DOCUMENTED_OPERATORS: dict[str, tuple[str, ...]] = {
    "string": _TEXT,
    "textarea": _TEXT,
    "email": _TEXT,
    "phone": _TEXT,
    "url": _TEXT,
    "combobox": _TEXT,
    "picklist": _TEXT,
    "multipicklist": ("equals", "notEqual", "includes", "excludes"),
    "id": ("equals", "notEqual", "startsWith"),
    "reference": ("equals", "notEqual"),
    "currency": _COMPARE,
    "double": _COMPARE,
    "int": _COMPARE,
    "percent": _COMPARE,
    "date": _COMPARE,
    "datetime": _COMPARE,
    "boolean": ("equals", "notEqual"),
}


def type_operators(id_filter_operators: str = "documented") -> dict[str, tuple[str, ...]]:
    """The operators per data type under the ``id_filter_operators`` dialect switch."""
    if id_filter_operators == "comparisons":  # KB 005321970's Id cursor (see the dialect)
        return {**DOCUMENTED_OPERATORS, "id": (*_COMPARE, "startsWith")}
    return dict(DOCUMENTED_OPERATORS)


# Report Error Codes page (400s), developer.salesforce.com/docs/analytics/
# salesforce-analytics-rest-api/guide/sforce-analytics-rest-api-report-error-codes.html
BAD_DATE = (
    "Filter the date in the correct format. Accepted formats are yyyy-MM-dd'T'HH:mm:ss'Z' and "
    "yyyy-MM-dd."
)


def bad_id(value: str) -> str:
    return (
        f"The filter value for ID {value} is incorrect. Specify an ID that is 15 or 18 "
        "characters long, such as 006D000000CrRLw or 005U0000000Rg2CIAS."
    )


# --- filters ------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    number: int
    col: Column
    operator: str
    raw: str
    today: dt.date

    def bad(self, why: str) -> ReportError:
        return ReportError(f"For the filter {self.number}: {why}")


def _split(raw: str) -> list[str]:
    return [p.strip() for p in raw.split(",")]


def _numbers(ctx: _Ctx) -> list[float | None]:
    text = ctx.raw.strip()
    for prefix in ("USD ", "$"):
        if text.upper().startswith(prefix.upper()):
            text = text[len(prefix) :].strip()
    if text == "":
        return [None]
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        parts = [text.replace(",", "")]
    else:
        parts = _split(text)
    out: list[float | None] = []
    for part in parts:
        try:
            out.append(float(part))
        except ValueError:
            raise ctx.bad(
                f"The value {ctx.raw!r} isn't a valid number for column {ctx.col.name}."
            ) from None
    return out


def _bounds(ctx: _Ctx, part: str) -> tuple[str, str] | None:
    """Inclusive storage-format bounds of one date/datetime value (None = blank).

    Only the documented formats and relative values; anything else is the documented 400.
    """
    if part == "":
        return None
    is_dt = ctx.col.data_type == "datetime"
    m = DATETIME.match(part.strip().upper())
    if m:
        try:
            dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}")
        except ValueError:
            raise ReportError(BAD_DATE) from None
        if is_dt:
            stamp = f"{m.group(1)}T{m.group(2)}"
            return stamp + ".000+0000", stamp + ".999+0000"
        part = m.group(1)  # a timestamp on a date column compares its (GMT) date
    span = date_range(part, ctx.today)
    if span is None:
        raise ReportError(BAD_DATE)
    if is_dt:
        return day_stamp(span[0], end=False), day_stamp(span[1], end=True)
    return span[0].isoformat(), span[1].isoformat()


def _text_sql(ctx: _Ctx, expr: str) -> tuple[str, list[Any]]:
    op, values = ctx.operator, _split(ctx.raw)
    target = f"lower({expr})"
    blank = values == [""]
    if op in ("equals", "notEqual"):
        if blank:
            return (f"{expr} IS NULL", []) if op == "equals" else (f"{expr} IS NOT NULL", [])
        marks = ", ".join("lower(?)" for _ in values)
        if op == "equals":
            return f"{target} IN ({marks})", values
        return f"({expr} IS NULL OR {target} NOT IN ({marks}))", values
    if op in ("contains", "notContain", "startsWith"):
        if op == "startsWith":
            parts = [f"substr({target}, 1, length(?)) = lower(?)" for _ in values]
            params = [p for v in values for p in (v, v)]
        else:
            parts = [f"instr({target}, lower(?)) > 0" for _ in values]
            params = list(values)
        anyof = "(" + " OR ".join(parts) + ")"
        if op == "notContain":
            return f"({expr} IS NULL OR NOT {anyof})", params
        return anyof, params
    # Range operators compare case-sensitively (binary), unlike the sort (KB, see the module).
    sym = {"lessThan": "<", "greaterThan": ">", "lessOrEqual": "<=", "greaterOrEqual": ">="}[op]
    return f"{expr} {sym} ?", [ctx.raw.strip()]


def _id_value(raw: str) -> str:
    """A 15- or 18-character Id filter value, widened to 18; blank stays blank."""
    if raw and (len(raw) not in (15, 18) or not raw.isalnum()):
        raise ReportError(bad_id(raw))
    return case_safe_id(raw)


def _id_sql(ctx: _Ctx, expr: str) -> tuple[str, list[Any]]:
    op = ctx.operator
    values = [] if op == "startsWith" else [_id_value(v) for v in _split(ctx.raw)]
    if op == "equals":
        return f"{expr} IN ({', '.join('?' for _ in values)})", values
    if op == "notEqual":
        return f"{expr} NOT IN ({', '.join('?' for _ in values)})", values
    if op == "startsWith":
        raw = _split(ctx.raw)
        parts = [f"substr({expr}, 1, length(?)) = ?" for _ in raw]
        return "(" + " OR ".join(parts) + ")", [p for v in raw for p in (v, v)]
    sym = {"lessThan": "<", "greaterThan": ">", "lessOrEqual": "<=", "greaterOrEqual": ">="}[op]
    return f"{expr} {sym} ?", [values[0]]


def _number_sql(ctx: _Ctx, expr: str) -> tuple[str, list[Any]]:
    values = _numbers(ctx)
    op = ctx.operator
    if values == [None]:
        if op in ("equals", "notEqual"):
            return (f"{expr} IS NULL", []) if op == "equals" else (f"{expr} IS NOT NULL", [])
        raise ctx.bad(f"A value is required for operator {op} on column {ctx.col.name}.")
    if op == "equals":
        return f"{expr} IN ({', '.join('?' for _ in values)})", list(values)
    if op == "notEqual":
        return f"({expr} IS NULL OR {expr} NOT IN ({', '.join('?' for _ in values)}))", list(values)
    sym = {"lessThan": "<", "greaterThan": ">", "lessOrEqual": "<=", "greaterOrEqual": ">="}[op]
    return f"{expr} {sym} ?", [values[0]]


def _date_sql(ctx: _Ctx, expr: str) -> tuple[str, list[Any]]:
    op = ctx.operator
    spans = [_bounds(ctx, part) for part in _split(ctx.raw)]
    if spans == [None]:
        if op in ("equals", "notEqual"):
            return (f"{expr} IS NULL", []) if op == "equals" else (f"{expr} IS NOT NULL", [])
        raise ctx.bad(f"A value is required for operator {op} on column {ctx.col.name}.")
    if any(s is None for s in spans):
        raise ctx.bad(f"The value {ctx.raw!r} isn't valid for column {ctx.col.name}.")
    real = [s for s in spans if s is not None]
    if op in ("equals", "notEqual"):
        inside = "(" + " OR ".join(f"{expr} BETWEEN ? AND ?" for _ in real) + ")"
        params = [b for s in real for b in s]
        if op == "equals":
            return inside, params
        return f"({expr} IS NULL OR NOT {inside})", params
    lo, hi = real[0]
    return {
        "lessThan": (f"{expr} < ?", [lo]),
        "greaterThan": (f"{expr} > ?", [hi]),
        "lessOrEqual": (f"{expr} <= ?", [hi]),
        "greaterOrEqual": (f"{expr} >= ?", [lo]),
    }[op]


def _bool_sql(ctx: _Ctx, expr: str) -> tuple[str, list[Any]]:
    text = ctx.raw.strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise ctx.bad(
            f"The value {ctx.raw!r} isn't valid for column {ctx.col.name}: use True or False."
        )
    flag = 1 if text in ("true", "1") else 0
    sym = "=" if ctx.operator == "equals" else "<>"
    return f"COALESCE({expr}, 0) {sym} ?", [flag]


def _multi_sql(ctx: _Ctx, expr: str) -> tuple[str, list[Any]]:
    op = ctx.operator
    items = _split(ctx.raw)
    if op in ("equals", "notEqual"):
        # equals compares the whole selection (order-insensitive is not attempted).
        inside = f"lower({expr}) IN ({', '.join('lower(?)' for _ in items)})"
        return (inside, items) if op == "equals" else (f"({expr} IS NULL OR NOT {inside})", items)
    terms: list[str] = []
    params: list[Any] = []
    for item in items:  # "A;B" means both A and B
        parts = [p.strip() for p in item.split(";") if p.strip()]
        terms.append(
            "("
            + " AND ".join(f"instr(';' || lower({expr}) || ';', lower(?)) > 0" for _ in parts)
            + ")"
        )
        params.extend(f";{p};" for p in parts)
    anyof = "(" + " OR ".join(terms) + ")"
    if op == "includes":
        return anyof, params
    return f"({expr} IS NULL OR NOT {anyof})", params


def _filter_sql(
    number: int, flt: Any, today: dt.date, operators: dict[str, tuple[str, ...]]
) -> tuple[str, list[Any]]:
    if not isinstance(flt, dict):
        raise ReportError(f"For the filter {number}: a filter must be an object.")
    name, operator, value = flt.get("column"), flt.get("operator"), flt.get("value")
    col = COLUMNS.get(name) if isinstance(name, str) else None
    # The two documented 400s (Report Error Codes page); the placeholder's content is assumed.
    if col is None or not col.filterable:
        raise ReportError(f"Specify a valid filterable column because {name} is invalid.")
    if operator not in operators.get(col.data_type, ()):
        raise ReportError(f"Specify a valid condition because {operator} is invalid.")
    if flt.get("filterType", "fieldValue") not in ("fieldValue", None):
        raise ReportError(f"For the filter {number}: only fieldValue filters are supported.")
    raw = "" if value is None else str(value)
    ctx = _Ctx(number, col, operator, raw, today)
    expr = col.compare_sql
    if col.data_type == "id":
        return _id_sql(ctx, expr)
    if col.is_numeric:
        return _number_sql(ctx, expr)
    if col.data_type in ("date", "datetime"):
        return _date_sql(ctx, expr)
    if col.data_type == "boolean":
        return _bool_sql(ctx, expr)
    if col.data_type == "multipicklist":
        return _multi_sql(ctx, expr)
    return _text_sql(ctx, expr)


def compile_filters(
    filters: Sequence[Any],
    logic: str | None,
    *,
    today: dt.date | None = None,
    operators: dict[str, tuple[str, ...]] | None = None,
) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) selecting the rows the filters keep.

    Each filter's condition is null-safe (``COALESCE(..., 0)``) so ``NOT`` behaves as on
    Salesforce. ``logic`` ``None`` means all filters ANDed. ``operators``: the operators per
    data type (default: the documented map).
    """
    operators = DOCUMENTED_OPERATORS if operators is None else operators
    if len(filters) > MAX_FILTERS:
        raise ReportError(
            f"The report has {len(filters)} filters; you can use up to {MAX_FILTERS} filters."
        )
    today = today or dt.datetime.now(dt.timezone.utc).date()
    parts: list[str] = []
    params_by: list[list[Any]] = []
    for i, flt in enumerate(filters, 1):
        sql, params = _filter_sql(i, flt, today, operators)
        parts.append(f"COALESCE(({sql}), 0)")
        params_by.append(params)
    if logic is not None and str(logic).strip():
        node = parse_logic(str(logic), len(filters))
        # Parameters follow the order filters appear in the SQL text, which the walk gives.
        order: list[int] = []
        sql = logic_sql(node, [f"\x00{i}\x00" for i in range(1, len(filters) + 1)])
        for m in re.finditer(r"\x00(\d+)\x00", sql):
            order.append(int(m.group(1)))
        sql = re.sub(r"\x00(\d+)\x00", lambda m: parts[int(m.group(1)) - 1], sql)
        return sql, [p for i in order for p in params_by[i - 1]]
    if not parts:
        return "1", []
    return " AND ".join(parts), [p for ps in params_by for p in ps]
