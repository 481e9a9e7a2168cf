"""What the report browser shows and writes, as pure functions of ``org.reports()`` and a describe.

No widgets and no I/O here: the folder list, the search, a report's columns, groupings and
filters, the filterable columns and their operators, a typed filter value, and the
``org.report(...)`` call that reproduces a run. :mod:`sfnotebook.notebook.report_browser`
wires them to ipywidgets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sfnotebook.reports._columns import ColumnIndex
from sfnotebook.reports._filters import SYMBOLS
from sfnotebook.reports._paging import type_columns

__all__ = [
    "ALL_FOLDERS",
    "Column",
    "describe_html",
    "filterable_columns",
    "folders",
    "matching_reports",
    "operators_for",
    "parse_value",
    "report_call",
    "spoken_filters",
]

ALL_FOLDERS = "All folders"
_NUMERIC = frozenset({"currency", "double", "int", "percent", "number"})
# The documented operators, in the order the report builder lists them (salesforce-api.md 5.7).
_OPERATOR_ORDER = (
    "equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual",
    "contains", "notContain", "startsWith", "includes", "excludes", "within",
)  # fmt: skip

#: A filterable column: (label shown, API name, report data type).
Column = tuple[str, str, str]


def folders(catalog: Iterable[Mapping[str, Any]]) -> list[str]:
    """ "All folders", then every folder the reports are in, sorted (a report without one: "")."""
    names = sorted({str(r.get("folder") or "") for r in catalog}, key=str.casefold)
    return [ALL_FOLDERS, *names]


def matching_reports(
    catalog: Sequence[Mapping[str, Any]], folder: str, search: str
) -> list[tuple[str, str]]:
    """``(label, report Id)`` of the reports in ``folder`` whose name has every search word.

    Words match anywhere in the name or the API name, ignoring case; the label shows the
    folder and format, so two reports of one name stay apart.
    """
    words = search.casefold().split()
    out = []
    for r in catalog:
        if folder != ALL_FOLDERS and str(r.get("folder") or "") != folder:
            continue
        text = f"{r.get('name') or ''} {r.get('developer_name') or ''}".casefold()
        if all(w in text for w in words):
            label = f"{r.get('name')}  ({r.get('folder') or 'no folder'}, {r.get('format') or '?'})"
            out.append((label, str(r["id"])))
    return out


def _column_labels(describe: Mapping[str, Any]) -> dict[str, str]:
    extended = describe.get("reportExtendedMetadata") or {}
    labels: dict[str, str] = {}
    for key in ("detailColumnInfo", "groupingColumnInfo", "aggregateColumnInfo"):
        for name, info in (extended.get(key) or {}).items():
            labels[name] = str((info or {}).get("label") or name)
    for name, info in type_columns(describe).items():
        labels.setdefault(name, str((info or {}).get("label") or name))
    return labels


def filterable_columns(describe: Mapping[str, Any]) -> list[Column]:
    """The report type's filterable columns, by label: the choices of a filter's column."""
    columns = [
        (str(info.get("label") or name), name, str(info.get("dataType") or "string").lower())
        for name, info in type_columns(describe).items()
        if isinstance(info, Mapping) and info.get("filterable", True)
    ]
    return sorted(columns, key=lambda c: (c[0].casefold(), c[1]))


def operators_for(describe: Mapping[str, Any], data_type: str) -> list[tuple[str, str]]:
    """``(label, operator)`` the describe allows for ``data_type`` (all documented ones if unsaid)."""
    op_map = (describe.get("reportTypeMetadata") or {}).get("dataTypeFilterOperatorMap") or {}
    listed = op_map.get(data_type)
    if not isinstance(listed, list):
        return [(name, name) for name in _OPERATOR_ORDER]
    out = []
    for op in listed:
        name = str(op.get("name") if isinstance(op, Mapping) else op)
        label = str(op.get("label") or name) if isinstance(op, Mapping) else name
        out.append((label, name))
    return out


def parse_value(text: str, data_type: str) -> object:
    """A typed filter value from what was typed: ``None`` (blank), a list (commas), a number.

    Numbers stay numbers for numeric columns (``100000``, ``2.5``); commas separate several
    values (``Prospecting, Qualification``), as the report builder's filter box does.
    """
    parts = [p.strip() for p in text.split(",")]
    values = [_typed(p, data_type) for p in parts if p]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _typed(text: str, data_type: str) -> object:
    if data_type in _NUMERIC and re.fullmatch(r"-?\d+", text):
        return int(text)
    if data_type in _NUMERIC and re.fullmatch(r"-?\d*\.\d+", text):
        return float(text)
    return text


# The API operator -> how an analyst writes it, from the symbols org.report reads.
_SPOKEN = {
    api: symbol
    for symbol, api in SYMBOLS.items()
    if symbol in ("=", "!=", "<", ">", "<=", ">=", "contains")
}


def spoken_filters(
    describe: Mapping[str, Any], filters: Sequence[tuple[str, str, object]]
) -> list[tuple[str, str, object]]:
    """The filters in the analyst's language, as results name things: ``("Amount", ">", 1)``.

    A column is written by its label where that label names it alone in this report (else by
    API name), an operator by its symbol where it has one; ``equals``/``notEqual`` with
    several values become ``in``/``not in``. ``org.report`` reads both forms the same way.
    """
    index = ColumnIndex(describe)
    out = []
    for column, operator, value in filters:
        label = index.label(column)
        named = label if index.resolve(label) == [column] else column
        spoken = _SPOKEN.get(operator, operator)
        if isinstance(value, list) and operator in ("equals", "notEqual"):
            spoken = "in" if operator == "equals" else "not in"
        out.append((named, spoken, value))
    return out


def report_call(
    variable: str,
    report: str,
    filters: Sequence[tuple[str, str, object]],
    *,
    comment: str | None = None,
) -> str:
    """The Python call that runs the report as the browser ran it, ready to paste in a cell."""
    lines = [f"res = {variable}.report(", f"    {report!r},"]
    if filters:
        lines.append("    filters=[")
        lines += [f"        ({c!r}, {o!r}, {v!r})," for c, o, v in filters]
        lines.append("    ],")
    lines.append(")" + (f"  # {comment}" if comment else ""))
    if not filters:
        lines = [f"res = {variable}.report({report!r})" + (f"  # {comment}" if comment else "")]
    return "\n".join(lines)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def describe_html(describe: Mapping[str, Any]) -> str:
    """A report's format, columns, groupings, aggregates and saved filters, for the panel."""
    md = describe.get("reportMetadata") or {}
    labels = _column_labels(describe)
    groups_down = [labels.get(g.get("name"), g.get("name")) for g in md.get("groupingsDown") or []]
    groups_across = [
        labels.get(g.get("name"), g.get("name")) for g in md.get("groupingsAcross") or []
    ]
    saved = [
        f"{n}. {labels.get(f.get('column'), f.get('column'))} {f.get('operator')} "
        f"{f.get('value')!r}"
        for n, f in enumerate(md.get("reportFilters") or [], 1)
    ]
    rows = [
        ("Format", str(md.get("reportFormat") or "?").title()),
        ("Columns", ", ".join(labels.get(c, c) for c in md.get("detailColumns") or []) or "none"),
        ("Row groupings", ", ".join(map(str, groups_down)) or "none"),
        ("Column groupings", ", ".join(map(str, groups_across)) or "none"),
        ("Aggregates", ", ".join(labels.get(a, a) for a in md.get("aggregates") or []) or "none"),
        ("Saved filters", "; ".join(saved) or "none"),
        ("Filter logic", md.get("reportBooleanFilter") or "all filters (AND)"),
    ]
    cells = "".join(
        f'<tr><th style="text-align:left;padding:1px 10px 1px 0;vertical-align:top">{_e(k)}</th>'
        f'<td style="padding:1px 0">{_e(v)}</td></tr>'
        for k, v in rows
    )
    return (
        f'<div class="sfnotebook-report-describe"><div style="font-weight:600">'
        f'{_e(md.get("name") or "")} <span style="color:#555;font-weight:400">'
        f"{_e(md.get('id') or '')}</span></div><table>{cells}</table></div>"
    )
