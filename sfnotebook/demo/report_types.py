"""``reportTypeMetadata`` of the demo org's Opportunities report type (for ``/describe``).

Private to the demo reports feature: categories of columns with ``dataType``, ``filterable``,
``isLookup`` and friends, ``dataTypeFilterOperatorMap`` (operators allowed per data type, as
``{"label", "name"}`` pairs) and the date granularities.
"""

from __future__ import annotations

from typing import Any

from sfnotebook.demo.report_defs import COLUMNS, REPORT_TYPE
from sfnotebook.demo.report_filters import OPERATOR_LABELS, TYPE_OPERATORS
from sfnotebook.demo.report_run import column_info

__all__ = ["report_type_metadata"]

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


def report_type_metadata() -> dict[str, Any]:
    """The report type's metadata, as the describe resource returns it."""
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
            for data_type, ops in TYPE_OPERATORS.items()
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
