"""Column metadata: ``reportExtendedMetadata`` and ``reportTypeMetadata`` (for ``/describe``).

Private to the demo reports feature. The report type's metadata lists categories of columns
with ``dataType``, ``filterable``, ``isLookup`` and friends, ``dataTypeFilterOperatorMap``
(operators allowed per data type, as ``{"label", "name"}`` pairs) and the date granularities.
"""

from __future__ import annotations

from typing import Any

from sfnotebook_demo.reports.defs import COLUMNS, REPORT_TYPE, Column
from sfnotebook_demo.reports.filters import DOCUMENTED_OPERATORS, OPERATOR_LABELS
from sfnotebook_demo.reports.plan import Plan

__all__ = ["column_info", "extended_metadata", "report_type_metadata"]

_GRANULARITY_LABELS = {
    "None": "None",
    "Day": "Calendar Day",
    "Week": "Calendar Week",
    "Month": "Calendar Month",
    "Quarter": "Calendar Quarter",
    "Year": "Calendar Year",
    "FiscalQuarter": "Fiscal Quarter",
    "FiscalYear": "Fiscal Year",
}


def column_info(col: Column) -> dict[str, Any]:
    """A ``detailColumnInfo`` / ``groupingColumnInfo`` entry (keys in alphabetical order)."""
    values = [{"apiName": v, "label": v, "name": v} for v in col.picklist_values]
    info: dict[str, Any] = {
        "dataType": col.data_type,
        "entityColumnName": col.entity_column_name,
        "filterValues": values,
        "filterable": col.filterable,
        "inactiveFilterValues": [],
    }
    if col.formula:
        info["isFormula"] = True  # demo extension: never page on this column
    info.update({"isLookup": col.is_lookup, "label": col.label, "uniqueCountable": True})
    return info


def extended_metadata(plan: Plan) -> dict[str, Any]:
    """``reportExtendedMetadata`` of a plan."""
    groups: dict[str, Any] = {}
    for axis in (plan.down, plan.across):
        for level, g in enumerate(axis):
            groups[g.column.name] = {**column_info(g.column), "groupingLevel": level}
    return {
        "aggregateColumnInfo": {
            a.name: {
                "acrossGroupingContext": None,
                "dataType": a.data_type,
                "downGroupingContext": None,
                "label": a.label,
            }
            for a in plan.aggregates
        },
        "availableDashboardSettings": None,
        "detailColumnInfo": {c.name: column_info(c) for c in plan.detail_columns},
        "groupingColumnInfo": groups,
    }


def report_type_metadata(
    operators: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """The report type's metadata, as the describe resource returns it.

    ``operators``: the filter operators per data type it advertises (default: documented).
    """
    operators = DOCUMENTED_OPERATORS if operators is None else operators
    categories: dict[str, dict[str, Any]] = {}
    for col in COLUMNS.values():
        info = column_info(col)
        info["isCustom"] = col.is_custom
        info["maxLength"] = 255 if col.is_text else None
        category = categories.setdefault(col.category, {"columns": {}, "label": col.category})
        category["columns"][col.name] = dict(sorted(info.items()))
    return {
        "categories": list(categories.values()),
        "dataTypeFilterOperatorMap": {
            data_type: [{"label": OPERATOR_LABELS[op], "name": op} for op in ops]
            for data_type, ops in operators.items()
        },
        "dateGranularityInfos": [
            {"label": label, "name": name} for name, label in _GRANULARITY_LABELS.items()
        ],
        "divisionInfo": None,
        "scopeInfo": {
            "defaultValue": "organization",
            "values": [
                {"allowsDivision": False, "label": "My opportunities", "value": "user"},
                {"allowsDivision": False, "label": "All opportunities", "value": "organization"},
            ],
        },
        "standardDateFilterDurationGroups": [],
        "standardFilterInfos": {},
        "supportsJoinedFormat": True,
        "type": REPORT_TYPE["type"],
    }
