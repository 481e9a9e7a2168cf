"""Unit tests of the demo org's report engine: plans, filters, cells and the factMap builder.

A tiny SQLite database (same tables and storage as the demo data) with hand-picked rows makes
every expected number checkable by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfnotebook_demo.data.schema import SCHEMA
from sfnotebook_demo.reports.cells import aggregate_cell, cell, group_cell
from sfnotebook_demo.reports.defs import COLUMNS, REPORTS, ReportDef, case_safe_id, report_records
from sfnotebook_demo.reports.factmap import assign_keys, build_fact_map, grouping_tree
from sfnotebook_demo.reports.filters import (
    DOCUMENTED_OPERATORS,
    ReportError,
    compile_filters,
    date_range,
    evaluate_logic,
    parse_logic,
    type_operators,
)
from sfnotebook_demo.reports.plan import make_plan
from sfnotebook_demo.reports.report_types import column_info, report_type_metadata
from sfnotebook_demo.reports.run import report_attributes, run_plan

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-payloads" / "reports"
REAL_ABSENT = (
    "real-org report payloads not present (recorded by other projects, they live outside this "
    "repository, in the maintainers' shared/ folder beside it)"
)


def _id(prefix: str, n: int) -> str:
    return case_safe_id(f"{prefix}Xx0000000{n:03d}")


U1, U2 = _id("005", 1), _id("005", 2)
A1, A2 = _id("001", 1), _id("001", 2)

# (StageName, Amount, CloseDate, Type, OwnerId, AccountId, IsDeleted, LeadSource)
OPPS: list[tuple[Any, ...]] = [
    ("Prospecting", 100.0, "2024-01-15", "New Customer", U1, A1, 0, "Web"),
    ("Prospecting", 200.0, "2024-02-20", "New Customer", U2, A2, 0, "Phone Inquiry"),
    ("Closed Won", 300.0, "2024-05-01", "New Customer", U1, A1, 0, "Web"),
    ("Closed Won", None, "2025-07-04", "Existing Customer - Upgrade", U2, A1, 0, None),
    ("Closed Lost", 1500.5, "2025-11-30", "Existing Customer - Upgrade", U1, None, 0, "Web"),
    ("Qualification", 50.0, "2025-03-03", None, U2, A2, 0, "Other"),
    ("Closed Won", 999.0, "2024-06-30", "New Customer", U1, A2, 1, "Web"),  # deleted
]


def _create(conn: sqlite3.Connection, name: str, rows: list[dict[str, Any]]) -> None:
    obj = SCHEMA[name]
    cols = [f for f in obj.fields if f.stored]
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(f"{f.name} {f.sql_type}" for f in cols)})')
    for row in rows:
        values = [row.get(f.name) for f in cols]
        marks = ", ".join("?" for _ in cols)
        conn.execute(f'INSERT INTO "{name}" VALUES ({marks})', values)  # noqa: S608 - schema names


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    _create(db, "User", [{"Id": U1, "Name": "alice Adams"}, {"Id": U2, "Name": "Bob Brown"}])
    _create(
        db,
        "Account",
        [
            {"Id": A1, "Name": "Acme", "Industry": "Banking", "IsDeleted": 0},
            {"Id": A2, "Name": "globex", "Industry": "Energy", "IsDeleted": 0},
        ],
    )
    opps = []
    for i, (stage, amount, close, type_, owner, account, deleted, source) in enumerate(OPPS, 1):
        opps.append(
            {
                "Id": _id("006", i),
                "Name": f"Deal {i}",
                "StageName": stage,
                "Amount": amount,
                "Probability": 10.0 * i,
                "CloseDate": close,
                "Type": type_,
                "OwnerId": owner,
                "AccountId": account,
                "IsDeleted": deleted,
                "IsClosed": int(stage.startswith("Closed")),
                "IsWon": int(stage == "Closed Won"),
                "LeadSource": source,
                "CreatedDate": f"2023-0{i}-0{i}T1{i}:05:43.000+0000",
                "LastModifiedDate": f"2024-0{i}-0{i}T0{i}:30:00.000+0000",
                "Competitors__c": "Acme;Globex" if i % 2 else "Initech",
            }
        )
    _create(db, "Opportunity", opps)
    yield db
    db.close()


def _report(fmt: str = "TABULAR", **kw: Any) -> ReportDef:
    base: dict[str, Any] = {
        "id": case_safe_id("00OXx0000000001"),
        "name": "Test",
        "developer_name": "Test",
        "folder": "Sales Reports",
        "format": fmt,
        "detail_columns": ("OPPORTUNITY_ID", "OPPORTUNITY_NAME", "AMOUNT", "CLOSE_DATE"),
        "aggregates": ("RowCount", "s!AMOUNT", "a!AMOUNT", "m!AMOUNT", "x!AMOUNT"),
    }
    base.update(kw)
    return ReportDef(**base)


def _run(
    conn: sqlite3.Connection,
    report: ReportDef,
    body: Any = None,
    *,
    operators: dict[str, tuple[str, ...]] | None = None,
    **kw: Any,
) -> Any:
    plan = make_plan(report, body, today=dt.date(2025, 6, 15), operators=operators)
    kw.setdefault("include_details", True)
    payload = run_plan(conn, plan, attributes=report_attributes("68.0", report), **kw)
    return json.loads(json.dumps(payload))  # what goes over the wire


def _names(payload: dict[str, Any], key: str = "T!T") -> list[str]:
    return [r["dataCells"][1]["label"] for r in payload["factMap"][key]["rows"]]


# --- factMap builder, keys and trees -------------------------------------------------------------


def test_assign_keys_numbers_siblings_in_order_of_appearance() -> None:
    keys = assign_keys([("a", 1), ("a", 2), ("b", 1)])
    assert keys == {("a",): "0", ("a", 1): "0_0", ("a", 2): "0_1", ("b",): "1", ("b", 1): "1_0"}


def test_grouping_tree_nests_children_under_parents() -> None:
    keys = assign_keys([("x", "p"), ("y", "q")])
    tree = grouping_tree(keys, lambda prefix: {"label": str(prefix[-1]), "value": prefix[-1]})
    assert [g["key"] for g in tree["groupings"]] == ["0", "1"]
    child = tree["groupings"][1]["groupings"][0]
    assert child == {"groupings": [], "key": "1_0", "label": "q", "value": "q"}


def test_build_fact_map_key_sets_per_format() -> None:
    down = assign_keys([("a", 1), ("b", 2)])
    across = assign_keys([("x",), ("y",)])
    tab = build_fact_map("TABULAR", {}, {}, {}, [], {}, down_depth=0, across_depth=0)
    assert list(tab) == ["T!T"]
    summary = build_fact_map("SUMMARY", down, {}, {}, [], {}, down_depth=2, across_depth=0)
    assert set(summary) == {"0!T", "0_0!T", "1!T", "1_0!T", "T!T"}
    matrix = build_fact_map("MATRIX", down, across, {}, [], None, down_depth=2, across_depth=1)
    assert len(matrix) == 5 * 3
    assert {"0_0!0", "1!1", "T!0", "0!T", "T!T"} <= set(matrix)
    assert "rows" not in matrix["0_0!0"]  # no details requested: no rows key at all


# --- runs -------------------------------------------------------------------------------------------


def test_tabular_rows_aggregates_and_cells(conn: sqlite3.Connection) -> None:
    payload = _run(conn, _report())
    fact = payload["factMap"]
    assert list(fact) == ["T!T"]
    rows = fact["T!T"]["rows"]
    assert len(rows) == 6  # the deleted row is not reported
    first = rows[0]["dataCells"]
    assert first[0] == {"label": _id("006", 1)[:15], "value": _id("006", 1)}
    assert first[1] == {"label": "Deal 1", "value": _id("006", 1)}
    assert first[2] == {"label": "$100.00", "value": {"amount": 100.0, "currency": None}}
    assert first[3] == {"label": "1/15/2024", "value": "2024-01-15"}
    assert rows[3]["dataCells"][2] == {"label": "-", "value": None}
    aggs = [a["value"] for a in fact["T!T"]["aggregates"]]
    assert aggs == [6, 2150.5, pytest.approx(2150.5 / 5), 50.0, 1500.5]
    assert fact["T!T"]["aggregates"][1]["label"] == "$2,150.50"
    assert payload["allData"] is True and payload["hasExceededTabularRowLimit"] is False
    assert payload["groupingsDown"] == {"groupings": []}


def test_row_cap_keeps_aggregates_over_all_rows(conn: sqlite3.Connection) -> None:
    payload = _run(conn, _report(), row_limit=4)
    assert len(payload["factMap"]["T!T"]["rows"]) == 4
    assert payload["allData"] is False and payload["hasExceededTabularRowLimit"] is True
    assert payload["factMap"]["T!T"]["aggregates"][0]["value"] == 6


def test_summary_cap_spans_groups_in_report_order(conn: sqlite3.Connection) -> None:
    report = _report("SUMMARY", groupings_down=({"name": "STAGE_NAME"},))
    payload = _run(conn, report, row_limit=3)
    fact = payload["factMap"]
    # Picklist order: Prospecting (2 rows), Qualification (1), Closed Won (2), Closed Lost (1).
    labels = [g["label"] for g in payload["groupingsDown"]["groupings"]]
    assert labels == ["Prospecting", "Qualification", "Closed Won", "Closed Lost"]
    assert [len(fact[f"{k}!T"]["rows"]) for k in "0123"] == [2, 1, 0, 0]
    assert fact["2!T"]["aggregates"][0]["value"] == 2  # subtotals still complete
    assert payload["allData"] is False


def test_summary_one_level_keys_rows_and_subtotals(conn: sqlite3.Connection) -> None:
    report = _report("SUMMARY", groupings_down=({"name": "FULL_NAME", "sortOrder": "Desc"},))
    payload = _run(conn, report)
    groups = payload["groupingsDown"]["groupings"]
    # Lookups group by the Id, sort by the name case-insensitively ("alice" < "Bob"; Desc).
    assert [(g["label"], g["value"]) for g in groups] == [("Bob Brown", U2), ("alice Adams", U1)]
    fact = payload["factMap"]
    assert set(fact) == {"0!T", "1!T", "T!T"}
    assert fact["T!T"]["rows"] == []
    assert len(fact["0!T"]["rows"]) == 3 and len(fact["1!T"]["rows"]) == 3
    assert fact["1!T"]["aggregates"][1]["value"] == pytest.approx(1900.5)


def test_summary_three_levels_with_date_granularity(conn: sqlite3.Connection) -> None:
    report = _report(
        "SUMMARY",
        groupings_down=(
            {"name": "INDUSTRY"},
            {"name": "CLOSE_DATE", "dateGranularity": "FiscalYear", "sortOrder": "Desc"},
            {"name": "CLOSE_DATE", "dateGranularity": "Month"},
        ),
        aggregates=("RowCount", "u!ACCOUNT_NAME"),
    )
    payload = _run(conn, report)
    top = payload["groupingsDown"]["groupings"]
    assert [g["label"] for g in top] == ["-", "Banking", "Energy"]  # null group first
    banking = top[1]
    assert [(g["label"], g["value"]) for g in banking["groupings"]] == [
        ("FY 2025", "2025-01-01"),
        ("FY 2024", "2024-01-01"),
    ]
    months = banking["groupings"][1]["groupings"]
    assert [m["label"] for m in months] == ["January 2024", "May 2024"]
    fact = payload["factMap"]
    assert fact["1_1_1!T"]["rows"][0]["dataCells"][1]["label"] == "Deal 3"
    assert fact["1!T"]["rows"] == []  # only the deepest level holds rows
    assert fact["T!T"]["aggregates"] == [{"label": "6", "value": 6}, {"label": "2", "value": 2}]


def test_matrix_two_by_two_has_every_cell(conn: sqlite3.Connection) -> None:
    report = _report(
        "MATRIX",
        groupings_down=({"name": "TYPE"}, {"name": "FULL_NAME"}),
        groupings_across=(
            {"name": "CLOSE_DATE", "dateGranularity": "Year"},
            {"name": "CLOSE_DATE", "dateGranularity": "FiscalQuarter"},
        ),
        aggregates=("RowCount", "s!AMOUNT", "a!AMOUNT"),
    )
    payload = _run(conn, report)
    fact = payload["factMap"]
    down = payload["groupingsDown"]["groupings"]
    across = payload["groupingsAcross"]["groupings"]
    assert [g["label"] for g in across] == ["2024", "2025"]
    assert [g["label"] for g in across[1]["groupings"]] == ["Q1-2025", "Q3-2025", "Q4-2025"]
    n_down = 1 + sum(1 + len(g["groupings"]) for g in down)
    n_across = 1 + sum(1 + len(g["groupings"]) for g in across)
    assert len(fact) == n_down * n_across
    assert fact["T!T"]["aggregates"][0]["value"] == 6
    # An empty cell: count and sum 0, average blank.
    empty = next(k for k, v in fact.items() if v["aggregates"][0]["value"] == 0)
    assert fact[empty]["aggregates"][1:] == [
        {"label": "$0.00", "value": 0},
        {"label": "-", "value": None},
    ]
    with_rows = [k for k, v in fact.items() if v["rows"]]
    assert all(k.count("_") == 2 for k in with_rows)  # deepest down x deepest across only
    assert sum(len(fact[k]["rows"]) for k in with_rows) == 6


def test_sort_by_is_stable_with_id_tie_break(conn: sqlite3.Connection) -> None:
    body = {"sortBy": [{"sortColumn": "STAGE_NAME", "sortOrder": "Asc"}],
            "detailColumns": ["OPPORTUNITY_ID", "OPPORTUNITY_NAME", "STAGE_NAME"]}  # fmt: skip
    names = _names(_run(conn, _report(), body))
    assert names == ["Deal 1", "Deal 2", "Deal 6", "Deal 3", "Deal 4", "Deal 5"]
    body["sortBy"] = [{"sortColumn": "AMOUNT", "sortOrder": "Desc"}]
    body["detailColumns"] = ["OPPORTUNITY_ID", "OPPORTUNITY_NAME", "AMOUNT"]
    assert _names(_run(conn, _report(), body)) == [
        "Deal 5", "Deal 3", "Deal 2", "Deal 1", "Deal 6", "Deal 4",
    ]  # fmt: skip


# --- filters ----------------------------------------------------------------------------------------


def _flt(column: str, operator: str, value: str) -> dict[str, str]:
    return {"column": column, "operator": operator, "value": value}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (_flt("STAGE_NAME", "equals", "prospecting,Closed Lost"), [1, 2, 5]),
        (_flt("STAGE_NAME", "notEqual", "Prospecting"), [3, 4, 5, 6]),
        (_flt("AMOUNT", "greaterThan", "1,000"), [5]),
        (_flt("AMOUNT", "lessOrEqual", "100"), [1, 6]),
        (_flt("AMOUNT", "equals", ""), [4]),
        (_flt("TYPE", "notEqual", "New Customer"), [4, 5, 6]),
        (_flt("ACCOUNT_NAME", "startsWith", "GLO"), [2, 6]),
        (_flt("ACCOUNT_NAME", "contains", "cm"), [1, 3, 4]),
        (_flt("ACCOUNT_NAME", "notContain", "cm"), [2, 5, 6]),
        (_flt("CLOSE_DATE", "lessThan", "2024-05-01"), [1, 2]),
        (_flt("CLOSE_DATE", "equals", "THIS_YEAR"), [4, 5, 6]),
        (_flt("CLOSE_DATE", "greaterThan", "LAST_YEAR"), [4, 5, 6]),
        (_flt("CREATED_DATE", "equals", "2023-03-03"), [3]),
        (_flt("CREATED_DATE", "greaterOrEqual", "2023-04-04T14:05:43Z"), [4, 5, 6]),
        (_flt("WON", "equals", "true"), [3, 4]),
        (_flt("Opportunity.Competitors__c", "includes", "Globex"), [1, 3, 5]),
        (_flt("Opportunity.Competitors__c", "excludes", "Globex"), [2, 4, 6]),
        (_flt("OPPORTUNITY_ID", "equals", f"{_id('006', 4)[:15]},{_id('006', 5)}"), [4, 5]),
        (_flt("OPPORTUNITY_ID", "notEqual", _id("006", 4)[:15]), [1, 2, 3, 5, 6]),
        (_flt("FULL_NAME", "equals", "ALICE ADAMS"), [1, 3, 5]),
    ],
)
def test_filter_operators(
    conn: sqlite3.Connection, flt: dict[str, str], expected: list[int]
) -> None:
    payload = _run(conn, _report(), {"reportFilters": [flt]})
    assert _names(payload) == [f"Deal {i}" for i in expected]


def test_the_documented_operator_map() -> None:
    """The Filter Operator List of the Analytics REST API guide, v67.0 (fidelity-audit 1a)."""
    compare = {"equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual"}
    assert set(DOCUMENTED_OPERATORS["id"]) == {"equals", "notEqual", "startsWith"}
    assert set(DOCUMENTED_OPERATORS["reference"]) == {"equals", "notEqual"}
    for data_type in ("date", "datetime", "int", "double", "currency", "percent"):
        assert set(DOCUMENTED_OPERATORS[data_type]) == compare
    text = compare | {"contains", "notContain", "startsWith"}
    assert set(DOCUMENTED_OPERATORS["string"]) == set(DOCUMENTED_OPERATORS["picklist"]) == text
    assert set(DOCUMENTED_OPERATORS["multipicklist"]) == {
        "equals", "notEqual", "includes", "excludes",
    }  # fmt: skip
    assert set(DOCUMENTED_OPERATORS["boolean"]) == {"equals", "notEqual"}
    assert type_operators() == DOCUMENTED_OPERATORS
    assert set(type_operators("comparisons")["id"]) == compare | {"startsWith"}
    assert type_operators("comparisons")["reference"] == DOCUMENTED_OPERATORS["reference"]


@pytest.mark.parametrize("dialect", ["documented", "comparisons"])
def test_the_describe_advertises_what_runs_accept(dialect: str) -> None:
    advertised = report_type_metadata(type_operators(dialect))["dataTypeFilterOperatorMap"]
    assert {t: [o["name"] for o in ops] for t, ops in advertised.items()} == {
        t: list(ops) for t, ops in type_operators(dialect).items()
    }


@pytest.mark.parametrize("operator", ["greaterThan", "greaterOrEqual", "lessThan", "lessOrEqual"])
def test_an_id_comparison_is_refused_on_the_documented_map(
    conn: sqlite3.Connection, operator: str
) -> None:
    flt = _flt("OPPORTUNITY_ID", operator, _id("006", 4)[:15])
    with pytest.raises(ReportError) as info:
        _run(conn, _report(), {"reportFilters": [flt]})
    assert (info.value.status, info.value.error_code) == (400, "BAD_REQUEST")
    assert info.value.message == f"Specify a valid condition because {operator} is invalid."
    expected = {"greaterThan": [5, 6], "greaterOrEqual": [4, 5, 6],
                "lessThan": [1, 2, 3], "lessOrEqual": [1, 2, 3, 4]}[operator]  # fmt: skip
    payload = _run(
        conn, _report(), {"reportFilters": [flt]}, operators=type_operators("comparisons")
    )
    assert _names(payload) == [f"Deal {i}" for i in expected]


@pytest.mark.parametrize(
    "value",
    [
        "2025-07-04T23:00:00.000Z",
        "2025-07-04T23:00:00+0000",
        "2025-07-04T23:00:00.000+0000",
        "2025-07-04 23:00:00",
        "2025-07-04T23:00Z",
        "07/04/2025",
        "2024-13-01",
    ],
)
@pytest.mark.parametrize("column", ["CLOSE_DATE", "CREATED_DATE", "LAST_UPDATE"])
def test_only_the_documented_date_formats_are_accepted(
    conn: sqlite3.Connection, column: str, value: str
) -> None:
    with pytest.raises(ReportError) as info:
        _run(conn, _report(), {"reportFilters": [_flt(column, "greaterOrEqual", value)]})
    assert info.value.message == (
        "Filter the date in the correct format. Accepted formats are "
        "yyyy-MM-dd'T'HH:mm:ss'Z' and yyyy-MM-dd."
    )


@pytest.mark.parametrize(
    "value", ["006", "0061234567890123", "006Xx0000000004AAAB", "006Xx00000-0004"]
)
def test_an_id_value_of_the_wrong_length_is_refused(conn: sqlite3.Connection, value: str) -> None:
    with pytest.raises(ReportError) as info:
        _run(conn, _report(), {"reportFilters": [_flt("OPPORTUNITY_ID", "equals", value)]})
    assert info.value.message.startswith(f"The filter value for ID {value} is incorrect.")


def test_text_ranges_compare_case_sensitively(conn: sqlite3.Connection) -> None:
    """KB: lessThan on a CASESAFEID text formula is case-sensitive; sorting ignores case."""
    # "Acme" < "a" <= "globex" in binary order; ignoring case both would be >= "a".
    at_least = _flt("ACCOUNT_NAME", "greaterOrEqual", "a")
    assert _names(_run(conn, _report(), {"reportFilters": [at_least]})) == ["Deal 2", "Deal 6"]
    below = _flt("ACCOUNT_NAME", "lessThan", "a")
    assert _names(_run(conn, _report(), {"reportFilters": [below]})) == [
        "Deal 1",
        "Deal 3",
        "Deal 4",
    ]


def test_a_hundred_columns_are_refused() -> None:
    report = _report()
    with pytest.raises(ReportError) as info:
        make_plan(
            report,
            {"detailColumns": ["AMOUNT"] * 98, "aggregates": ["RowCount", "s!AMOUNT", "a!AMOUNT"]},
        )
    assert info.value.message.startswith("Only a report with fewer than 100 columns can be run.")
    make_plan(report, {"detailColumns": ["AMOUNT"] * 98, "aggregates": ["RowCount", "s!AMOUNT"]})


def test_boolean_filter_logic(conn: sqlite3.Connection) -> None:
    filters = [
        _flt("CLOSED", "equals", "False"),
        _flt("LEAD_SOURCE", "equals", "Web"),
        _flt("AMOUNT", "lessThan", "100"),
    ]
    body = {"reportFilters": filters, "reportBooleanFilter": "1 AND (2 OR 3)"}
    assert _names(_run(conn, _report(), body)) == ["Deal 1", "Deal 6"]
    body["reportBooleanFilter"] = "NOT 1 AND(2OR 3)"
    assert _names(_run(conn, _report(), body)) == ["Deal 3", "Deal 5"]


def test_parse_and_evaluate_logic() -> None:
    node = parse_logic("(1 OR 2) AND NOT 3", 3)
    assert evaluate_logic(node, [True, False, False]) is True
    assert evaluate_logic(node, [True, False, True]) is False
    assert evaluate_logic(parse_logic("1or2", 2), [False, True]) is True


@pytest.mark.parametrize(
    ("logic", "fragment"),
    [
        ("1 AND 2 OR 3", "mixes AND and OR"),
        ("1 AND (2 OR 3", "ends unexpectedly"),
        ("(1 AND 2 3", "missing"),
        ("1 AND 4", "undefined filter: 4"),
        ("1 AND 2", "not referenced"),
        ("1 AND", "ends unexpectedly"),
        ("1 XOR 2", "unexpected"),
    ],
)
def test_malformed_logic_is_refused(logic: str, fragment: str) -> None:
    flts = [_flt("AMOUNT", "greaterThan", "1")] * 3
    with pytest.raises(ReportError, match=fragment) as info:
        compile_filters(flts, logic)
    assert info.value.status == 400 and info.value.error_code == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("flt", "fragment"),
    [
        (_flt("NOPE", "equals", "x"), "^Specify a valid filterable column because NOPE is invalid"),
        (_flt("AMOUNT", "contains", "1"), "^Specify a valid condition because contains is invalid"),
        (_flt("AMOUNT", "sortOf", "1"), "^Specify a valid condition because sortOf is invalid"),
        (_flt("AMOUNT", "greaterThan", "lots"), "isn't a valid number"),
        (_flt("CLOSE_DATE", "equals", "2024-13-01"), "^Filter the date in the correct format"),
        (_flt("WON", "equals", "maybe"), "use True or False"),
    ],
)
def test_invalid_filters_name_the_filter(flt: dict[str, str], fragment: str) -> None:
    with pytest.raises(ReportError, match=fragment):
        compile_filters([flt], None)


def test_more_than_twenty_filters_is_refused() -> None:
    with pytest.raises(ReportError, match="up to 20 filters"):
        compile_filters([_flt("AMOUNT", "greaterThan", "1")] * 21, None)


def test_date_literals() -> None:
    today = dt.date(2025, 6, 15)  # a Sunday
    assert date_range("THIS_YEAR", today) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert date_range("LAST_QUARTER", today) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert date_range("THIS_WEEK", today) == (dt.date(2025, 6, 15), dt.date(2025, 6, 21))
    assert date_range("LAST_N_DAYS:7", today) == (dt.date(2025, 6, 8), today)
    assert date_range("NEXT_N_DAYS:2", today) == (dt.date(2025, 6, 16), dt.date(2025, 6, 17))
    assert date_range("LAST_MONTH", today) == (dt.date(2025, 5, 1), dt.date(2025, 5, 31))
    assert date_range("soon", today) is None


# --- plan validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "body", "fragment"),
    [
        ("TABULAR", {"sortBy": [{"sortColumn": "AMOUNT"}, {"sortColumn": "CLOSE_DATE"}]},
         "only be sorted by one column"),
        ("TABULAR", {"sortBy": [{"sortColumn": "STAGE_NAME"}]}, "must be from a selected column"),
        ("TABULAR", {"detailColumns": ["AMOUNT", "NOPE"]}, "'NOPE' isn't a valid column"),
        ("TABULAR", {"aggregates": ["s!STAGE_NAME"]}, "aggregate 's!STAGE_NAME'"),
        ("SUMMARY", {"groupingsDown": [{"name": "CLOSE_DATE", "dateGranularity": "Fortnight"}]},
         "date granularity"),
        ("MATRIX", {"sortBy": [{"sortColumn": "AMOUNT"}]}, "isn't supported for matrix"),
        ("TABULAR", {"reportFormat": "JOINED"}, "format"),
    ],
)  # fmt: skip
def test_invalid_metadata_is_refused(fmt: str, body: dict[str, Any], fragment: str) -> None:
    report = _report(fmt, groupings_down=({"name": "TYPE"},) if fmt != "TABULAR" else ())
    if fmt == "MATRIX":
        report = _report(fmt, groupings_down=({"name": "TYPE"},),
                         groupings_across=({"name": "STAGE_NAME"},))  # fmt: skip
    with pytest.raises(ReportError, match=fragment):
        make_plan(report, body)


def test_new_filters_must_match_saved_logic() -> None:
    saved = next(r for r in REPORTS.values() if r.boolean_filter)
    extra = [*saved.filters, _flt("AMOUNT", "greaterThan", "1")]
    with pytest.raises(ReportError, match="not referenced"):
        make_plan(saved, {"reportFilters": extra})
    plan = make_plan(
        saved, {"reportFilters": extra, "reportBooleanFilter": "(1 AND (2 OR 3)) AND 4"}
    )
    assert plan.metadata(has_detail_rows=True)["reportBooleanFilter"] == "(1 AND (2 OR 3)) AND 4"


def test_switching_to_tabular_drops_saved_groupings() -> None:
    summary = next(r for r in REPORTS.values() if r.format == "SUMMARY")
    plan = make_plan(summary, {"reportFormat": "TABULAR"})
    assert plan.down == [] and plan.metadata(has_detail_rows=True)["groupingsDown"] == []


# --- cells -----------------------------------------------------------------------------------------


def test_cells_format_like_salesforce() -> None:
    c = COLUMNS
    assert cell(c["PROBABILITY"], 60.0) == {"label": "60%", "value": 60.0}
    assert cell(c["AMOUNT"], 1234.5)["label"] == "$1,234.50"
    assert cell(c["AMOUNT"], -5.0)["label"] == "-$5.00"
    assert cell(c["QUANTITY"], 1234.0) == {"label": "1,234.00", "value": 1234.0}
    assert cell(c["Opportunity.Seats__c"], 12) == {"label": "12", "value": 12}
    stamp = "2015-08-12T16:05:43.000+0000"
    assert cell(c["LAST_UPDATE"], stamp) == {
        "label": "8/12/2015 4:05 PM",
        "value": "2015-08-12T16:05:43Z",
    }
    assert cell(c["CREATED_DATE"], stamp) == {"label": "8/12/2015", "value": "2015-08-12"}
    assert cell(c["WON"], 0) == {"label": "false", "value": False}
    assert cell(c["ACCOUNT_NAME"], A1, "Acme") == {"label": "Acme", "value": A1}
    assert cell(c["Opportunity.Competitors__c"], "A;B")["label"] == "A; B"
    assert cell(c["STAGE_NAME"], None) == {"label": "-", "value": None}
    assert group_cell(c["CLOSE_DATE"], "Quarter", "2013-04-01")["label"] == "Q2-2013"
    assert group_cell(c["CLOSE_DATE"], "Month", "2013-05-01")["label"] == "May 2013"
    assert aggregate_cell("RowCount", None, 12345) == {"label": "12,345", "value": 12345}


# --- shapes against real payloads (local check, skipped when the folder is absent) ---------------


def _shape(obj: Any, depth: int = 0) -> Any:
    """Key sets of nested dicts (first element of lists), down to cells."""
    if isinstance(obj, dict):
        return {k: _shape(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list) and obj:
        return [_shape(obj[0], depth + 1)]
    return type(obj).__name__


@pytest.mark.skipif(not REAL.is_dir(), reason=REAL_ABSENT)
@pytest.mark.parametrize(
    ("real_name", "fmt"),
    [
        ("cghall_tabular_basic.json", "TABULAR"),
        ("cghall_summary_basic_single_group.json", "SUMMARY"),
        ("reportforce_summary_anonymized.json", "SUMMARY"),
        ("cghall_matrix_basic.json", "MATRIX"),
        ("reportforce_matrix_anonymized.json", "MATRIX"),
    ],
)
def test_payload_shapes_match_real_ones(conn: sqlite3.Connection, real_name: str, fmt: str) -> None:
    real = json.loads((REAL / real_name).read_text())
    kw: dict[str, Any] = {}
    if fmt != "TABULAR":
        kw["groupings_down"] = ({"name": "TYPE"}, {"name": "ACCOUNT_NAME"})
    if fmt == "MATRIX":
        kw["groupings_across"] = ({"name": "CLOSE_DATE", "dateGranularity": "Month"},)
    ours = _run(conn, _report(fmt, **kw))
    # Top level: ours has every key the real payload has (the v29 ones lack newer keys).
    assert set(real) - set(ours) == set()
    assert set(ours) - set(real) <= {"hasExceededTabularRowLimit", "picklistColors"}
    assert set(real["reportMetadata"]) <= set(ours["reportMetadata"]) | {"saveRoleHierarchy"}
    assert set(real["reportExtendedMetadata"]) <= set(ours["reportExtendedMetadata"])
    assert set(real["attributes"]) <= {*ours["attributes"], "describeUrl", "instancesUrl"}
    real_fact, our_fact = real["factMap"], ours["factMap"]
    assert set(real_fact["T!T"]) == set(our_fact["T!T"])
    _rows_only_in_deepest_cells(real)
    _rows_only_in_deepest_cells(ours)
    real_cell = next(r for v in real_fact.values() for r in v.get("rows", []))["dataCells"][0]
    our_cell = next(r for v in our_fact.values() for r in v.get("rows", []))["dataCells"][0]
    assert set(real_cell) - {"escapedLabel"} == set(our_cell)
    real_group = (real["groupingsDown"]["groupings"] or [None])[0]
    if real_group is not None:
        assert set(real_group) == set(ours["groupingsDown"]["groupings"][0])
    real_agg = next(iter(real["reportExtendedMetadata"]["aggregateColumnInfo"].values()))
    our_agg = next(iter(ours["reportExtendedMetadata"]["aggregateColumnInfo"].values()))
    assert set(real_agg) <= set(our_agg)
    our_groups = list(ours["reportExtendedMetadata"]["groupingColumnInfo"].values())
    for info in real["reportExtendedMetadata"]["groupingColumnInfo"].values():
        assert set(info) <= set(our_groups[0])
    real_detail = next(iter(real["reportExtendedMetadata"]["detailColumnInfo"].values()))
    our_detail = next(iter(ours["reportExtendedMetadata"]["detailColumnInfo"].values()))
    assert set(real_detail) <= set(our_detail)


def _rows_only_in_deepest_cells(payload: dict[str, Any]) -> None:
    meta = payload["reportMetadata"]
    n_down, n_across = len(meta["groupingsDown"]), len(meta["groupingsAcross"])
    with_rows = [k for k, v in payload["factMap"].items() if v.get("rows")]
    assert with_rows
    for key in with_rows:
        down, across = key.split("!")
        assert down == "T" if n_down == 0 else down.count("_") == n_down - 1
        assert across == "T" if n_across == 0 else across.count("_") == n_across - 1


# --- seeded definitions -----------------------------------------------------------------------


def test_seeded_reports_are_valid_and_cover_every_format() -> None:
    formats = set()
    for report_id, report in REPORTS.items():
        assert len(report_id) == 18 and report_id == case_safe_id(report_id[:15])
        assert report_id.startswith("00O")
        plan = make_plan(report)
        formats.add((plan.format, len(plan.down), len(plan.across)))
    assert {("TABULAR", 0, 0), ("SUMMARY", 1, 0), ("SUMMARY", 3, 0)} <= formats
    assert {("MATRIX", 2, 1), ("MATRIX", 2, 2)} <= formats
    pipelines = [r for r in REPORTS.values() if r.name == "Open Pipeline"]
    assert len({r.folder for r in pipelines}) == 2
    assert any(r.boolean_filter == "1 AND (2 OR 3)" for r in REPORTS.values())
    records = report_records()
    assert {r["Format"] for r in records} == {"Tabular", "Summary", "Matrix"}


def test_formula_column_is_marked_and_compares_as_text(conn: sqlite3.Connection) -> None:
    key = COLUMNS["Opportunity.Opportunity_Key__c"]
    assert key.formula and column_info(key)["isFormula"] is True
    assert "isFormula" not in column_info(COLUMNS["OPPORTUNITY_ID"])
    # Text comparison ignores case: the lower-cased Id still matches its row.
    flt = _flt("Opportunity.Opportunity_Key__c", "equals", _id("006", 2).lower())
    assert _names(_run(conn, _report(), {"reportFilters": [flt]})) == ["Deal 2"]


def test_timestamp_value_on_date_column_compares_its_date(conn: sqlite3.Connection) -> None:
    flt = _flt("CLOSE_DATE", "greaterOrEqual", "2025-07-04T23:00:00Z")
    assert _names(_run(conn, _report(), {"reportFilters": [flt]})) == ["Deal 4", "Deal 5"]


def test_describe_metadata_round_trips_through_a_post_body() -> None:
    """Clients often send back the metadata describe gave them, edited."""
    for report in REPORTS.values():
        meta = make_plan(report).metadata(has_detail_rows=True)
        again = make_plan(report, json.loads(json.dumps(meta))).metadata(has_detail_rows=True)
        assert again == meta, report.name
