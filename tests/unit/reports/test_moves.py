"""Which columns check a report paged on a changeable column (sfnotebook.reports._moves)."""

from __future__ import annotations

from typing import Any

import pytest

from sfnotebook.reports._moves import needs_check, stamp_column
from sfnotebook.reports._paging import Change, Cursor, change_kind, choose_cursors


def _describe(columns: dict[str, dict[str, Any]], **op_map: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"categories": [{"label": "All", "columns": columns}]}
    if op_map:
        metadata["dataTypeFilterOperatorMap"] = {
            t: [{"name": o} for o in ops] for t, ops in op_map.items()
        }
    return {"reportTypeMetadata": metadata}


def _col(data_type: str, entity: str | None = None, **more: Any) -> dict[str, Any]:
    return {"dataType": data_type, **({"entityColumnName": entity} if entity else {}), **more}


COLUMNS = {
    "OPPORTUNITY_ID": _col("id", "Opportunity.Id"),
    "CLOSE_DATE": _col("date", "Opportunity.CloseDate"),
    "ACCOUNT.CREATED_DATE": _col("datetime", "Account.CreatedDate"),
    "ACCOUNT.LAST_UPDATE": _col("datetime", "Account.LastModifiedDate"),
    "LAST_UPDATE": _col("datetime", "Opportunity.LastModifiedDate"),
}


def test_each_objects_own_stamp_checks_its_columns() -> None:
    describe = _describe(COLUMNS)
    assert stamp_column(describe, "opportunity", "opportunity") == "LAST_UPDATE"
    # Editing an account does not touch its opportunities' Last Modified Date.
    assert stamp_column(describe, "account", "opportunity") == "ACCOUNT.LAST_UPDATE"
    assert stamp_column(describe, "contact", "opportunity") is None


def test_system_modstamp_comes_before_last_modified_date() -> None:
    # Salesforce moves SystemModstamp for system changes too (roll-ups, LastActivityDate).
    columns = {**COLUMNS, "SYSTEM_MODSTAMP": _col("datetime", "Opportunity.SystemModstamp")}
    describe = _describe(columns)
    assert stamp_column(describe, "opportunity", "opportunity") == "SYSTEM_MODSTAMP"
    assert stamp_column(_describe(COLUMNS), "opportunity", "opportunity", system_only=True) is None


def test_without_entity_names_the_report_types_own_columns_match() -> None:
    describe = _describe({"AMOUNT": _col("currency"), "LAST_UPDATE": _col("datetime")})
    assert stamp_column(describe, "opportunity", "opportunity") == "LAST_UPDATE"


@pytest.mark.parametrize(
    ("stamp", "op_map"),
    [
        (_col("datetime", "Opportunity.LastModifiedDate", filterable=False), {}),
        (_col("datetime", "Opportunity.LastModifiedDate", isFormula=True), {}),
        (_col("date", "Opportunity.LastModifiedDate"), {}),
        (_col("datetime", "Opportunity.LastModifiedDate"), {"datetime": ["equals"]}),
    ],
)
def test_a_stamp_that_cannot_take_the_filter_is_not_used(
    stamp: dict[str, Any], op_map: dict[str, list[str]]
) -> None:
    describe = _describe({"CLOSE_DATE": _col("date"), "LAST_UPDATE": stamp}, **op_map)
    assert stamp_column(describe, "opportunity", "opportunity") is None


def test_a_parents_creation_date_is_a_changeable_cursor() -> None:
    # Re-parenting an opportunity changes its Account's Created Date: not a fixed column.
    metadata = {
        "name": "R",
        "reportType": {"type": "Opportunity"},
        "detailColumns": ["ACCOUNT.CREATED_DATE", "CLOSE_DATE", "LAST_UPDATE"],
    }
    cursors = choose_cursors(metadata, _describe(COLUMNS))
    assert [(c.column, c.changeable) for c in cursors] == [
        ("LAST_UPDATE", False),
        ("ACCOUNT.CREATED_DATE", True),
        ("CLOSE_DATE", True),
    ]
    assert change_kind("CREATED_DATE", {}) is Change.FIXED
    assert change_kind("ACCOUNT.CREATED_DATE", {}, own=False) is Change.ANY


def test_a_fixed_first_cursor_needs_a_check_only_when_a_value_was_split() -> None:
    fixed = Cursor("CREATED_DATE", "datetime", False, None)
    moving = Cursor("AMOUNT", "currency", False, None, changeable=True)
    spread = [[{"value": f"2024-01-{d:02d}"}] for d in range(1, 29) for _ in range(40)]
    crowded = [[{"value": "2024-01-15"}]] * 2300
    assert needs_check([moving], spread, 0)
    assert not needs_check([fixed, moving], spread, 0)
    assert needs_check([fixed, moving], crowded, 0)
    assert not needs_check([fixed, Cursor("CLOSED", "date", False, None)], crowded, 0)
