"""Keyset paging past 2,000 rows, name lookup and filter overrides, against a fake connection.

``ReportOrg`` (a :class:`tests.fakes.FakeOrg`) plays the Reports API over an in-memory list of rows: it applies filters and filter
logic, sorts (groups first, then ``sortBy``, then record Id), caps detail rows at 2,000 with
``allData: false`` and computes aggregates over every matching row, as the real API does.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from sfnotebook import reports as reports_mod
from sfnotebook.errors import (
    AmbiguousReportError,
    IncompleteResultError,
    InvalidTypeError,
    NetworkError,
    ReportNotFoundError,
    ReportPagingError,
    ReportRunLimitError,
    SalesforceError,
    ServerUnavailableError,
    SfNotebookWarning,
)
from sfnotebook.reports import _paging as paging
from sfnotebook.reports._catalog import resolve
from sfnotebook.reports._runner import SYNC_RUN_TIMEOUT, Runner
from tests.fakes import FakeOrg

REPORT_ID = "00OFAKE00000001EAA"
STAGES = ["Prospecting", "Negotiation", "Closed Won"]
MONTHS = ["January", "February", "March", "April", "May", "June"]

INFO = {
    "OPPORTUNITY_ID": {"label": "Opportunity ID", "dataType": "id"},
    "OPPORTUNITY_NAME": {"label": "Opportunity Name", "dataType": "string"},
    "AMOUNT": {"label": "Amount", "dataType": "currency"},
    "CREATED_DATE": {"label": "Created Date", "dataType": "datetime"},
    "CLOSE_DATE": {"label": "Close Date", "dataType": "date"},
    "STAGE_NAME": {"label": "Stage", "dataType": "picklist"},
    "KEY__c": {"label": "Opportunity Key", "dataType": "string", "isFormula": True},
}


_COMPARE = ["equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual"]
# dataTypeFilterOperatorMap as documented (Filter Operator List), and with Id comparisons
DOCUMENTED_MAP: dict[str, list[str]] = {
    "id": ["equals", "notEqual", "startsWith"],
    "reference": ["equals", "notEqual"],
    "string": [*_COMPARE, "contains", "notContain", "startsWith"],
    "picklist": [*_COMPARE, "contains", "notContain", "startsWith"],
    **{t: list(_COMPARE) for t in ("currency", "date", "datetime", "int", "double", "percent")},
}
COMPARISONS_MAP = {**DOCUMENTED_MAP, "id": [*_COMPARE, "startsWith"]}


def make_rows(n: int, *, duplicate_every: int = 0) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        j = i - 1 if duplicate_every and i % duplicate_every == 1 else i
        rows.append(
            {
                "OPPORTUNITY_ID": f"006FAKE{j:08d}AAA",
                "OPPORTUNITY_NAME": f"Deal {j}",
                "AMOUNT": float(1000 + (j * 7919) % 5000),
                "CREATED_DATE": f"2024-01-{(j % 28) + 1:02d}",  # many ties per day
                "CLOSE_DATE": f"2024-{(j % 6) + 1:02d}-{(j % 27) + 1:02d}",
                "STAGE_NAME": STAGES[(j * 31) % 3],
                "KEY__c": f"006fake{j:08d}aaa",
            }
        )
    return rows


def cell(col: str, row: dict[str, Any]) -> dict[str, Any]:
    value = row[col]
    if col == "AMOUNT":
        return {"label": f"${value:,.2f}", "value": {"amount": value, "currency": None}}
    if col == "OPPORTUNITY_ID":
        return {"label": value[:15], "value": value}
    if col == "OPPORTUNITY_NAME":
        return {"label": value, "value": row["OPPORTUNITY_ID"]}
    return {"label": value, "value": value}


def _moment(text: str) -> dt.datetime:
    """A datetime cell or filter value as UTC (a date alone is its midnight)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def passes(flt: dict[str, Any], row: dict[str, Any]) -> bool:
    col, op, raw = flt["column"], flt["operator"], flt["value"]
    value = row[col]
    target: Any = float(raw) if col == "AMOUNT" else raw
    if col == "CREATED_DATE" and "T" in value:  # compared as instants, as Salesforce does
        value, target = _moment(value), _moment(raw if "T" in raw else raw + "T00:00:00Z")
    return {
        "equals": lambda: value in raw.split(","),
        "notEqual": lambda: value not in raw.split(","),
        "greaterThan": lambda: value > target,
        "greaterOrEqual": lambda: value >= target,
        "lessThan": lambda: value < target,
    }[op]()


def evaluate(logic: str, truth: list[bool]) -> bool:
    """Tiny evaluator for filter logic: numbers, AND, OR, NOT, parentheses."""
    tokens = re.findall(r"\d+|\(|\)|AND|OR|NOT", logic.upper())
    pos = 0

    def atom() -> bool:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            val = expr()
            pos += 1
            return val
        if tok == "NOT":
            return not atom()
        return truth[int(tok) - 1]

    def expr() -> bool:
        nonlocal pos
        val = atom()
        while pos < len(tokens) and tokens[pos] in ("AND", "OR"):
            op = tokens[pos]
            pos += 1
            rhs = atom()
            val = (val and rhs) if op == "AND" else (val or rhs)
        return val

    return expr()


class ReportOrg(FakeOrg):
    """A connection whose Reports API serves one report over ``rows``."""

    def __init__(
        self,
        rows: list[dict[str, Any]],
        *,
        columns: Sequence[str] = ("OPPORTUNITY_ID", "OPPORTUNITY_NAME", "AMOUNT", "CREATED_DATE"),
        fmt: str = "TABULAR",
        groupings: Sequence[dict[str, Any]] = (),
        filters: Sequence[dict[str, Any]] = (),
        logic: str | None = None,
        sort: Sequence[dict[str, Any]] = (),
        catalog: Sequence[dict[str, Any]] | None = None,
        soql: bool = True,
        lose_rows_after_run: int | None = None,
        sync_timeout: bool = False,
        aggregates: Sequence[str] = ("RowCount",),
        operator_map: dict[str, list[str]] | None = COMPARISONS_MAP,
        limits: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.operator_map = operator_map
        # Report runs left this hour; each sync run / new instance uses one; None: /limits 403.
        self.limits = (
            {"HourlySyncReportRuns": 500, "HourlyAsyncReportRuns": 1200}
            if limits is None
            else dict(limits)
        )
        self.limits_reads = 0
        self.rows = rows
        self.saved = {
            "id": REPORT_ID,
            "name": "Fake Report",
            "reportType": {"type": "Opportunity", "label": "Opportunities"},
            "reportFormat": fmt,
            "detailColumns": list(columns),
            "groupingsDown": list(groupings),
            "groupingsAcross": [],
            "reportFilters": list(filters),
            "reportBooleanFilter": logic,
            "sortBy": list(sort),
            "aggregates": list(aggregates),
        }
        self.catalog = catalog or [{"Id": REPORT_ID, "Name": "Fake Report"}]
        self.soql = soql
        self.bodies: list[dict[str, Any] | None] = []
        self.lose_rows_after_run = lose_rows_after_run
        self.sync_timeout = sync_timeout
        self.instances: dict[str, dict[str, Any]] = {}

    # -- the Connection surface reports.py uses ---------------------------------------------
    def answer(self, method: str, url: str, *, params: Any, json: Any, headers: Any) -> Any:
        if url == "limits":
            self.limits_reads += 1
            if not self.limits:
                return SalesforceError(
                    "no View Setup", status=403, error_code="INSUFFICIENT_ACCESS"
                )
            return {
                k: {"Max": 500 if "Sync" in k else 1200, "Remaining": v}
                for k, v in self.limits.items()
            }
        if method == "POST":
            return self.post(url, params=params, json=json)
        if url == "query":
            if not self.soql:
                raise InvalidTypeError("sObject type 'Report' is not supported.")
            records = [
                {"DeveloperName": None, "FolderName": "Sales", "Format": "Tabular", **r}
                for r in self.catalog
            ]
            return {"done": True, "totalSize": len(records), "records": records}
        if url == "analytics/reports":
            return [{"id": r["Id"], "name": r["Name"]} for r in self.catalog]
        if "/instances/" in url:
            instance = self.instances[url.rsplit("/", 1)[1]]
            instance["polls"] += 1
            if instance["polls"] < 2:
                return {"attributes": {"status": "Running"}, "allData": False, "factMap": {}}
            result = self.run(instance["metadata"])
            result["attributes"] = {"status": "Success", "type": "ReportInstance"}
            return result
        if url.endswith("/describe"):
            return {
                "reportMetadata": copy.deepcopy(self.saved),
                "reportExtendedMetadata": self.extended(self.saved),
                "reportTypeMetadata": self.type_metadata(),
            }
        assert params == {"includeDetails": "true"}
        self.timeout_if_asked()
        self.bodies.append(None)
        return self.run(self.saved)

    def take(self, limit: str) -> None:
        """Use one report run of ``limit``; the documented 403 when none is left."""
        if not self.limits:
            return
        if self.limits[limit] <= 0:
            how = "synchronously" if "Sync" in limit else "asynchronously"
            message = (
                f"You can't run more than 500 reports {how} every 60 minutes. Try again later."
            )
            raise SalesforceError(message, status=403, error_code="FORBIDDEN", sf_message=message)
        self.limits[limit] -= 1

    def timeout_if_asked(self) -> None:
        self.take("HourlySyncReportRuns")
        if self.sync_timeout:
            raise ServerUnavailableError(
                "Salesforce answered 500 REPORT_TIMEOUT: Your report took too long to run.",
                status=500,
                error_code="REPORT_TIMEOUT",
            )

    def post(self, url: str, *, params: Any, json: Any) -> Any:
        assert params == {"includeDetails": "true"}
        if url.endswith("/instances"):
            self.take("HourlyAsyncReportRuns")
            body = json.get("reportMetadata")
            self.bodies.append(copy.deepcopy(body))
            iid = f"0LGFAKE{len(self.instances):08d}AAA"
            merged = {**self.saved, **(body or {})}
            if (body or {}).get("reportFormat") == "TABULAR" and "groupingsDown" not in body:
                merged["groupingsDown"] = []
            self.instances[iid] = {"metadata": merged, "polls": 0}
            return {"id": iid, "status": "New"}
        self.timeout_if_asked()
        body = json["reportMetadata"]
        self.bodies.append(copy.deepcopy(body))
        merged = {**self.saved, **body}
        if body.get("reportFormat") == "TABULAR" and "groupingsDown" not in body:
            merged["groupingsDown"] = []
        return self.run(merged)

    # -- the fake API -------------------------------------------------------------------------
    def type_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"categories": [{"label": "All", "columns": INFO}]}
        if self.operator_map is not None:
            out["dataTypeFilterOperatorMap"] = {
                t: [{"label": o, "name": o} for o in ops] for t, ops in self.operator_map.items()
            }
        return out

    def check_operators(self, filters: Sequence[dict[str, Any]]) -> None:
        """Refuse what the advertised map (or the documented one) does not list, as Salesforce."""
        allowed = self.operator_map if self.operator_map is not None else DOCUMENTED_MAP
        for flt in filters:
            if flt["operator"] not in allowed[INFO[flt["column"]]["dataType"]]:
                raise SalesforceError(
                    f"Specify a valid condition because {flt['operator']} is invalid.",
                    status=400,
                    error_code="BAD_REQUEST",
                )

    def extended(self, md: dict[str, Any]) -> dict[str, Any]:
        return {
            "detailColumnInfo": {c: INFO[c] for c in md["detailColumns"]},
            "aggregateColumnInfo": {
                "RowCount": {"label": "Record Count", "dataType": "int"},
                "s!AMOUNT": {"label": "Sum of Amount", "dataType": "currency"},
            },
            "groupingColumnInfo": {
                g["name"]: {**INFO[g["name"]], "groupingLevel": i}
                for i, g in enumerate(md["groupingsDown"])
            },
        }

    def group_of(self, g: dict[str, Any], row: dict[str, Any]) -> tuple[Any, str]:
        value = row[g["name"]]
        if g.get("dateGranularity") == "Month":
            start = value[:8] + "01"
            return start, f"{MONTHS[int(value[5:7]) - 1]} 2024"
        return value, value

    def run(self, md: dict[str, Any]) -> dict[str, Any]:
        filters, logic = md["reportFilters"], md["reportBooleanFilter"]
        self.check_operators(filters)
        rows = self.rows
        if self.lose_rows_after_run is not None and len(self.bodies) > self.lose_rows_after_run:
            rows = rows[:-1]  # the row the last page would have brought
        matching = [
            r
            for r in rows
            if (
                evaluate(logic, [passes(f, r) for f in filters])
                if logic
                else all(passes(f, r) for f in filters)
            )
        ]
        matching.sort(key=lambda r: r["OPPORTUNITY_ID"])
        for s in md["sortBy"]:
            matching.sort(key=lambda r: r[s["sortColumn"]], reverse=s["sortOrder"] == "Desc")
        groups = md["groupingsDown"] if md["reportFormat"] != "TABULAR" else []
        order: dict[tuple[Any, ...], int] = {}
        for path in sorted({tuple(self.group_of(g, r)[0] for g in groups) for r in matching}):
            order[path] = len(order)
        matching.sort(key=lambda r: order[tuple(self.group_of(g, r)[0] for g in groups)])
        shown = matching[:2000]

        def aggregates(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {"label": "", "value": len(members)}
                if a == "RowCount"
                else {"label": "", "value": sum(r["AMOUNT"] for r in members)}
                for a in md["aggregates"]
            ]

        fact: dict[str, Any] = {"T!T": {"aggregates": aggregates(matching)}}
        tree: list[dict[str, Any]] = []
        keys: dict[tuple[Any, ...], str] = {}
        for path in order:
            level = tree
            for depth in range(1, len(path) + 1):
                prefix = path[:depth]
                if prefix not in keys:
                    parent = keys.get(prefix[:-1])
                    index = sum(1 for k in keys if len(k) == depth and k[:-1] == prefix[:-1])
                    keys[prefix] = f"{parent}_{index}" if parent else str(index)
                    sample = next(
                        r
                        for r in matching
                        if tuple(self.group_of(g, r)[0] for g in groups)[:depth] == prefix
                    )
                    value, label = self.group_of(groups[depth - 1], sample)
                    level.append(
                        {"key": keys[prefix], "value": value, "label": label, "groupings": []}
                    )
                level = next(n for n in level if n["key"] == keys[prefix])["groupings"]
        for prefix, key in keys.items():
            members = [r for r in matching if self.path(groups, r)[: len(prefix)] == prefix]
            deepest = len(prefix) == len(groups)
            fact[f"{key}!T"] = {
                "aggregates": aggregates(members),
                "rows": [
                    {"dataCells": [cell(c, r) for c in md["detailColumns"]]}
                    for r in shown
                    if deepest and self.path(groups, r) == prefix
                ],
            }
        fact["T!T"]["rows"] = (
            [{"dataCells": [cell(c, r) for c in md["detailColumns"]]} for r in shown]
            if not groups
            else []
        )
        return {
            "attributes": {"reportId": REPORT_ID, "reportName": "Fake Report"},
            "allData": len(matching) <= 2000,
            "factMap": fact,
            "groupingsDown": {"groupings": tree},
            "groupingsAcross": {"groupings": []},
            "reportMetadata": copy.deepcopy(md),
            "reportExtendedMetadata": self.extended(md),
        }

    def path(self, groups: Sequence[dict[str, Any]], row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(self.group_of(g, row)[0] for g in groups)


def saved_filter(column: str, operator: str, value: str) -> dict[str, Any]:
    return {"column": column, "operator": operator, "value": value}


def run(org: ReportOrg, **kw: Any) -> reports_mod.ReportResult:
    return reports_mod.report(org, REPORT_ID, progress=False, **kw)


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1999, 2000, 2001, 4000, 4500, 6123])
def test_every_row_once_and_runs_bounded(n: int) -> None:
    org = ReportOrg(make_rows(n))
    res = run(org)
    ids = res.details["Opportunity ID"].tolist()
    assert len(ids) == n == len(set(ids))
    assert ids == sorted(ids)  # no sortBy: record Id order, as the fake's report order
    assert res.runs == org.bodies.__len__()
    assert res.runs <= math.ceil(n / 2000) + 2
    if n <= 2000:
        assert res.runs == 1 and res.paged_on is None
    else:
        assert res.runs == 1 + math.ceil(n / 2000)
        assert res.paged_on == "OPPORTUNITY_ID"


def test_paging_filters_use_greater_than_on_the_id_and_keep_the_report_logic() -> None:
    filters = [
        saved_filter("AMOUNT", "greaterThan", "1500"),
        saved_filter("AMOUNT", "lessThan", "0"),
    ]
    org = ReportOrg(make_rows(5000), filters=filters, logic="1 OR 2")
    res = run(org)
    expected = sum(1 for r in make_rows(5000) if r["AMOUNT"] > 1500)
    assert len(res) == expected
    posts = [b for b in org.bodies if b is not None]
    assert posts[0]["sortBy"] == [{"sortColumn": "OPPORTUNITY_ID", "sortOrder": "Asc"}]
    for body in posts[1:]:
        assert body["reportFilters"][:2] == filters
        assert body["reportFilters"][2]["column"] == "OPPORTUNITY_ID"
        assert body["reportFilters"][2]["operator"] == "greaterThan"
        assert body["reportBooleanFilter"] == "(1 OR 2) AND 3"


def test_report_already_sorted_on_the_cursor_reuses_the_first_run() -> None:
    org = ReportOrg(make_rows(4500), sort=[{"sortColumn": "OPPORTUNITY_ID", "sortOrder": "Asc"}])
    res = run(org)
    assert len(res) == 4500
    assert res.runs == 3


def test_report_sort_order_is_restored_after_paging() -> None:
    org = ReportOrg(make_rows(4100), sort=[{"sortColumn": "AMOUNT", "sortOrder": "Desc"}])
    res = run(org)
    amounts = res.details["Amount"].tolist()
    assert amounts == sorted(amounts, reverse=True)
    # ties keep record Id order, as the report does
    first_tie = res.details[res.details["Amount"] == amounts[0]]["Opportunity ID"].tolist()
    assert first_tie == sorted(first_tie)


def test_without_id_column_pages_on_created_date_with_greater_or_equal_and_dedup() -> None:
    rows = make_rows(4300, duplicate_every=50)  # some rows identical in every column
    org = ReportOrg(rows, columns=("OPPORTUNITY_NAME", "AMOUNT", "CREATED_DATE"))
    res = run(org)
    assert res.paged_on == "CREATED_DATE"
    assert len(res) == 4300  # identical rows are kept, overlaps dropped
    assert sorted(res.details["Opportunity Name"].tolist()) == sorted(
        r["OPPORTUNITY_NAME"] for r in rows
    )
    posts = [b for b in org.bodies if b is not None]
    assert all(b["reportFilters"][-1]["operator"] == "greaterOrEqual" for b in posts[1:])
    assert res.runs <= math.ceil(4300 / 2000) + 2


def test_no_pageable_column_raises_with_advice() -> None:
    org = ReportOrg(make_rows(2500), columns=("KEY__c", "OPPORTUNITY_NAME", "STAGE_NAME"))
    with pytest.raises(ReportPagingError, match="Add Created Date") as info:
        run(org)
    assert "formula" in str(info.value)


@pytest.mark.parametrize(
    ("column", "info", "kind"),
    [
        ("CREATED_DATE", {}, 0),
        ("Opportunity.Signed__c", {"entityColumnName": "Opportunity.CreatedDate"}, 0),
        ("LAST_UPDATE", {}, 1),
        ("Account.LastModifiedDate", {}, 1),
        ("X", {"entityColumnName": "Contact.SystemModstamp"}, 1),
        ("CLOSE_DATE", {"entityColumnName": "Opportunity.CloseDate"}, 2),
        ("AMOUNT", {}, 2),
    ],
)
def test_cursor_columns_are_ranked_by_how_edits_move_them(
    column: str, info: dict[str, Any], kind: int
) -> None:
    # A creation date never changes; a last-modified stamp only moves past every value paged
    # so far; anything else can move a record behind the paging position.
    assert paging.change_kind(column, info) == kind


def test_the_org_clock_of_the_first_answer_is_when_paging_began() -> None:
    from datetime import timedelta

    class Answer:
        def __init__(self, date: str) -> None:
            self.headers = {"Date": date}
            self.elapsed = timedelta(seconds=1.5)

    runner = Runner(FakeOrg(), REPORT_ID)
    runner._note_start(Answer("Thu, 03 Dec 2026 17:20:31 GMT"))
    runner._note_start(Answer("Thu, 03 Dec 2026 18:00:00 GMT"))
    # The first answer's time is kept; paging is checked from it less the request's own time
    # and the minute's margin.
    assert runner.answered == "2026-12-03T17:20:31Z"
    assert runner.began == "2026-12-03T17:19:29Z"


def test_formula_column_is_never_the_cursor() -> None:
    org = ReportOrg(make_rows(2500), columns=("KEY__c", "OPPORTUNITY_NAME", "CREATED_DATE"))
    res = run(org)
    assert res.paged_on == "CREATED_DATE"
    assert len(res) == 2500


def test_too_many_filters_raises() -> None:
    filters = [saved_filter("AMOUNT", "greaterThan", str(-i)) for i in range(20)]
    org = ReportOrg(make_rows(2100), filters=filters)
    with pytest.raises(ReportPagingError, match="Remove a filter"):
        run(org)


def test_row_count_mismatch_raises_incomplete() -> None:
    org = ReportOrg(make_rows(4500), lose_rows_after_run=1)
    with pytest.raises(IncompleteResultError, match="4,500"):
        run(org)


def test_summary_details_are_paged_as_tabular_and_keep_their_groups() -> None:
    groupings = [
        {"name": "STAGE_NAME", "sortOrder": "Asc", "dateGranularity": "None"},
        {"name": "CLOSE_DATE", "sortOrder": "Asc", "dateGranularity": "Month"},
    ]
    rows = make_rows(4700)
    org = ReportOrg(
        rows,
        fmt="SUMMARY",
        groupings=groupings,
        columns=("OPPORTUNITY_ID", "OPPORTUNITY_NAME", "AMOUNT"),
    )
    res = run(org)
    df = res.details
    assert len(df) == 4700
    assert list(df.columns[:2]) == ["Stage", "Close Date"]
    by_id = {r["OPPORTUNITY_ID"]: r for r in rows}
    for _, row in df.sample(200, random_state=1).iterrows():
        source = by_id[row["Opportunity ID"]]
        assert row["Stage"] == source["STAGE_NAME"]
        assert row["Close Date"] == f"{MONTHS[int(source['CLOSE_DATE'][5:7]) - 1]} 2024"
    # report order: groups in tree order
    stages = list(dict.fromkeys(df["Stage"]))
    assert stages == sorted(STAGES)
    # aggregates come from the first (grouped) run and cover every row
    assert res.aggregates["Record Count"].iloc[-1] == 4700
    posts = [b for b in org.bodies if b is not None]
    assert org.bodies[0] is None and all(b["reportFormat"] == "TABULAR" for b in posts)
    assert all("CLOSE_DATE" in b["detailColumns"] for b in posts)
    assert res.runs == 1 + math.ceil(4700 / 2000)


# --- filters and names ----------------------------------------------------------------------


def test_filter_override_is_anded_onto_the_saved_logic() -> None:
    org = ReportOrg(
        make_rows(300),
        filters=[
            saved_filter("AMOUNT", "greaterThan", "0"),
            saved_filter("AMOUNT", "lessThan", "0"),
        ],
        logic="1 OR 2",
    )
    res = run(org, filters=[("STAGE_NAME", "equals", ["Prospecting", "Negotiation"])])
    body = org.bodies[0]
    assert body is not None
    assert body["reportBooleanFilter"] == "(1 OR 2) AND 3"
    assert body["reportFilters"][2] == {
        "column": "STAGE_NAME",
        "operator": "equals",
        "value": "Prospecting,Negotiation",
    }
    assert len(res) == sum(1 for r in make_rows(300) if r["STAGE_NAME"] != "Closed Won")


def test_filter_override_without_saved_logic_and_explicit_logic() -> None:
    org = ReportOrg(make_rows(50))
    run(org, filters=[{"column": "AMOUNT", "operator": "greaterThan", "value": 2000}])
    assert org.bodies[0] is not None and org.bodies[0]["reportBooleanFilter"] is None
    org = ReportOrg(make_rows(50), filters=[saved_filter("AMOUNT", "greaterThan", "5000")])
    res = run(org, filters=[("AMOUNT", "lessThan", 1500)], boolean_filter="1 OR 2")
    assert org.bodies[0] is not None and org.bodies[0]["reportBooleanFilter"] == "1 OR 2"
    assert len(res) == sum(1 for r in make_rows(50) if not 1500 <= r["AMOUNT"] <= 5000)


CATALOG = [
    {"Id": "00OFAKE00000001EAA", "Name": "Open Pipeline", "FolderName": "Sales"},
    {"Id": "00OFAKE00000002EAA", "Name": "Open Pipeline", "FolderName": "Marketing"},
    {"Id": "00OFAKE00000003EAA", "Name": "Pipeline by Stage", "DeveloperName": "Pipe_Stage"},
]


@pytest.mark.parametrize("soql", [True, False])
def test_ambiguous_name_lists_candidates_with_folder_and_id(soql: bool) -> None:
    org = ReportOrg(make_rows(5), catalog=CATALOG, soql=soql)
    with pytest.raises(AmbiguousReportError) as info:
        reports_mod.report(org, "Open Pipeline", progress=False)
    text = str(info.value)
    assert "00OFAKE00000001EAA" in text and "00OFAKE00000002EAA" in text
    assert len(info.value.candidates) == 2
    if soql:
        assert "Sales" in text and "Marketing" in text


def test_unknown_name_lists_close_candidates() -> None:
    org = ReportOrg(make_rows(5), catalog=CATALOG)
    with pytest.raises(ReportNotFoundError, match="Pipeline by Stage") as info:
        reports_mod.report(org, "Pipeline by Stges", progress=False)
    assert "org.reports()" in str(info.value)


@pytest.mark.parametrize("name", ["Pipeline by Stage", "pipeline BY stage", "Pipe_Stage"])
def test_name_lookup(name: str) -> None:
    org = ReportOrg(make_rows(5), catalog=CATALOG)
    assert resolve(org, name) == "00OFAKE00000003EAA"


def test_reports_listing_falls_back_to_the_analytics_list() -> None:
    with_soql = reports_mod.reports(ReportOrg([], catalog=CATALOG))
    assert list(with_soql.columns) == [
        "name", "id", "folder", "owner", "last_run", "last_modified", "description", "format",
        "developer_name",
    ]  # fmt: skip
    assert with_soql["folder"].tolist()[:2] == ["Sales", "Marketing"]
    without = reports_mod.reports(ReportOrg([], catalog=CATALOG, soql=False))
    assert without["id"].tolist() == [r["Id"] for r in CATALOG]
    # no Report sObject: folder Id and format come from each report's describe
    assert without["format"].tolist() == ["TABULAR"] * 3


def test_result_behaves_like_its_detail_frame() -> None:
    res = run(ReportOrg(make_rows(30)))
    assert len(res) == 30 == res.row_count
    assert res.df is res.details and res.to_pandas() is res.details
    assert res["Amount"].equals(res.details["Amount"])
    assert res.head(3).equals(res.details.head(3))
    assert res.id == REPORT_ID and res.name == "Fake Report" and res.format == "TABULAR"
    assert "30 rows" in repr(res)
    html = res._repr_html_()
    assert "Fake Report" in html and "Deal 0" in html
    with pytest.raises(AttributeError):
        res._private_thing  # noqa: B018


def fake_progress(calls: list[Any]) -> Callable[..., Any]:
    class Bar:
        def update(self, n: int = 1) -> None:
            calls.append(n)

        def close(self) -> None:
            calls.append("closed")

    def progress_bar(
        total: int | None, *, enabled: Any = "auto", desc: str = "", **summary: Any
    ) -> Bar:
        calls.append(("total", total))
        return Bar()

    return progress_bar


def test_progress_bar_gets_the_total_and_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(
        reports_mod, "_progress_bar", lambda total, **kw: fake_progress(calls)(total, **kw)
    )
    run(ReportOrg(make_rows(4100)))
    assert calls[0] == ("total", 4100)
    assert sum(c for c in calls if isinstance(c, int)) == 4100
    assert calls[-1] == "closed"


def test_api_column_names_after_paging() -> None:
    res = run(ReportOrg(make_rows(2100)), column_names="api")
    assert list(res.details.columns) == [
        "OPPORTUNITY_ID",
        "OPPORTUNITY_NAME",
        "AMOUNT",
        "CREATED_DATE",
    ]
    assert list(res.aggregates.columns) == ["RowCount", "Is Total"]
    assert len(res) == 2100


def test_fifteen_character_id_is_accepted() -> None:
    org = ReportOrg(make_rows(3), catalog=[])
    assert resolve(org, "00OFAKE00000001") == "00OFAKE00000001"


def test_sync_timeout_falls_back_to_async_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sfnotebook.reports._runner.time.sleep", lambda s: None)
    org = ReportOrg(make_rows(4100), sync_timeout=True)
    res = run(org)
    assert len(res) == 4100 and res.details["Opportunity ID"].is_unique
    assert len(org.instances) == res.runs == 1 + math.ceil(4100 / 2000)
    assert all(i["polls"] == 2 for i in org.instances.values())


class Queued(ReportOrg):
    """Instances done a fixed time after they were created (as a queue would), not after a
    number of polls; each poll answers by the clock."""

    def __init__(self, rows: list[dict[str, Any]], *, ready_after: Callable[[int], float]) -> None:
        super().__init__(rows, sync_timeout=True)
        self.ready_after = ready_after
        self.created: dict[str, float] = {}

    def post(self, url: str, *, params: Any, json: Any) -> Any:
        answer = super().post(url, params=params, json=json)
        if url.endswith("/instances"):
            self.created[answer["id"]] = time.monotonic()
        return answer

    def answer(self, method: str, url: str, *, params: Any, json: Any, headers: Any) -> Any:
        if method == "GET" and "/instances/" in url:
            iid = url.rsplit("/", 1)[1]
            instance = self.instances[iid]
            instance["polls"] += 1
            wait = self.ready_after(list(self.instances).index(iid))
            if time.monotonic() - self.created[iid] < wait:
                return {"attributes": {"status": "Running"}, "allData": False, "factMap": {}}
            result = self.run(instance["metadata"])
            result["attributes"] = {"status": "Success", "type": "ReportInstance"}
            return result
        return super().answer(method, url, params=params, json=json, headers=headers)


def test_later_instances_are_first_polled_when_the_quickest_one_was_done() -> None:
    """The first instance is polled at once (Running), then 0.1 s later (done); the ones after
    it wait those 0.1 s before their first poll, which finds them done: one poll each."""
    org = Queued(make_rows(8100), ready_after=lambda i: 0.05)
    res = run(org)
    assert len(res) == 8100 and res.details["Opportunity ID"].is_unique
    polls = [i["polls"] for i in org.instances.values()]
    assert len(polls) == res.runs == 1 + math.ceil(8100 / 2000)
    assert polls[0] == 2 and set(polls[1:]) == {1}


def test_an_instance_slower_than_the_quickest_is_polled_until_done() -> None:
    """The learned first wait is a start, not a promise: a slower instance is polled again."""
    org = Queued(make_rows(4100), ready_after=lambda i: 0.05 if i == 0 else 0.25)
    res = run(org)
    assert len(res) == 4100 and res.details["Opportunity ID"].is_unique
    polls = [i["polls"] for i in org.instances.values()]
    assert polls[0] == 2 and all(p >= 2 for p in polls[1:])


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, None), (503, "SERVER_UNAVAILABLE"), (500, "REPORT_TIMEOUT"), (502, None)],
)
def test_a_5xx_on_a_sync_run_moves_it_async_once(
    monkeypatch: pytest.MonkeyPatch, status: int, code: str | None
) -> None:
    """Salesforce documents report timeouts as generic 500s: any 5xx goes async, once."""
    monkeypatch.setattr("sfnotebook.reports._runner.time.sleep", lambda s: None)
    tries = {"n": 0}

    class Broken(ReportOrg):
        def timeout_if_asked(self) -> None:
            tries["n"] += 1
            raise ServerUnavailableError(str(status), status=status, error_code=code)

    org = Broken(make_rows(10))
    res = run(org)
    assert len(res) == 10
    assert tries["n"] == 1 and len(org.instances) == 1


def test_a_client_error_on_a_sync_run_is_raised_not_moved_async() -> None:
    class Refused(ReportOrg):
        def timeout_if_asked(self) -> None:
            raise SalesforceError("400", status=400, error_code="BAD_REQUEST")

    org = Refused(make_rows(10))
    with pytest.raises(SalesforceError):
        run(org)
    assert not org.instances


def test_a_crowded_date_gives_way_to_a_number_column() -> None:
    rows = make_rows(5000)
    for row in rows[:2300]:  # more rows on one day than a run returns
        row["CREATED_DATE"] = "2024-01-15"
    columns = ("OPPORTUNITY_NAME", "AMOUNT", "CREATED_DATE")
    # Amount is a column edits change, and this report type has no Last Modified Date to check
    # the records edited meanwhile with (sfnotebook.reports._moves): it says so.
    with pytest.warns(SfNotebookWarning, match="paged on AMOUNT, which an edit can change"):
        res = run(ReportOrg(rows, columns=columns))
    assert res.paged_on == "AMOUNT"
    assert len(res) == 5000


def test_paging_that_cannot_pass_a_value_raises() -> None:
    rows = make_rows(4500)
    for row in rows[:2300]:
        row["CREATED_DATE"] = "2024-01-15"
    org = ReportOrg(rows, columns=("OPPORTUNITY_NAME", "CREATED_DATE"))
    with pytest.raises(ReportPagingError, match="share the value '2024-01-15'"):
        run(org)


@pytest.mark.parametrize("duplicates", [0, 40])
def test_a_value_shared_by_more_than_a_run_is_split_on_the_next_column(duplicates: int) -> None:
    rows = make_rows(6000, duplicate_every=duplicates)
    for row in rows[-2600:]:  # crowded, but not in the first run's sample (Id order)
        row["CREATED_DATE"] = "2024-01-28"
    columns = ("OPPORTUNITY_NAME", "AMOUNT", "CREATED_DATE")
    org = ReportOrg(rows, columns=columns)
    with pytest.warns(SfNotebookWarning, match="paged on AMOUNT, which an edit can change"):
        res = run(org)  # the crowded day was split on Amount
    assert res.paged_on == "CREATED_DATE"
    assert len(res) == 6000
    assert sorted(res.details["Opportunity Name"].tolist()) == sorted(
        r["OPPORTUNITY_NAME"] for r in rows
    )
    posts = [b for b in org.bodies if b is not None]
    split = [b for b in posts if any(f["operator"] == "equals" for f in b["reportFilters"])]
    assert split and all(b["sortBy"][0]["sortColumn"] == "AMOUNT" for b in split)
    assert res.runs <= math.ceil(6000 / 2000) + 4


def test_without_a_record_count_the_paging_run_counts() -> None:
    org = ReportOrg(make_rows(4500), aggregates=["s!AMOUNT"])
    res = run(org)
    assert len(res) == 4500
    assert list(res.aggregates.columns) == ["Sum of Amount", "Is Total"]
    posts = [b for b in org.bodies if b is not None]
    assert all("RowCount" in b["aggregates"] for b in posts)
    lossy = ReportOrg(make_rows(4500), aggregates=["s!AMOUNT"], lose_rows_after_run=2)
    with pytest.raises(IncompleteResultError):
        run(lossy)


def test_group_labeler_finds_date_buckets_in_descending_trees() -> None:
    from sfnotebook.reports._groups import GroupLabeler

    grouped = {
        "reportMetadata": {
            "reportFormat": "SUMMARY",
            "groupingsDown": [
                {"name": "CLOSE_DATE", "dateGranularity": "Year", "sortOrder": "Desc"}
            ],
        },
        "reportExtendedMetadata": {"groupingColumnInfo": {"CLOSE_DATE": {"dataType": "date"}}},
        "groupingsDown": {
            "groupings": [
                {"key": "0", "value": "2025-01-01", "label": "2025", "groupings": []},
                {"key": "1", "value": "2024-01-01", "label": "2024", "groupings": []},
                {"key": "2", "value": None, "label": "-", "groupings": []},
            ]
        },
    }
    labeler = GroupLabeler(grouped, ["AMOUNT", "CLOSE_DATE"])

    def labels(date: str | None) -> tuple[str | None, ...]:
        return labeler.labels([{"label": "x", "value": 1}, {"label": "x", "value": date}])

    assert labels("2025-12-31") == ("2025",)
    assert labels("2024-02-29") == ("2024",)
    assert labels(None) == (None,)
    assert labeler.sort_key(("2025",)) < labeler.sort_key(("2024",)) < labeler.sort_key((None,))
    assert labeler.known(("2024",)) and not labeler.known(("1999",))


# --- the org's operator map (fidelity-audit D2) -----------------------------------------------


@pytest.mark.parametrize("advertised", ["documented", "no map"])
@pytest.mark.parametrize("n", [2001, 6123])
def test_on_the_documented_map_the_id_is_never_a_range_cursor(advertised: str, n: int) -> None:
    """Salesforce documents only equals/notEqual/startsWith on ids: Created Date pages."""
    org = ReportOrg(
        make_rows(n), operator_map=DOCUMENTED_MAP if advertised == "documented" else None
    )
    res = run(org)
    assert res.paged_on == "CREATED_DATE"
    ids = res.details["Opportunity ID"].tolist()
    assert len(ids) == n == len(set(ids))
    posts = [b for b in org.bodies if b is not None]
    assert all(f["column"] != "OPPORTUNITY_ID" for b in posts for f in b["reportFilters"])
    assert {b["reportFilters"][-1]["operator"] for b in posts[1:]} == {"greaterOrEqual"}


def test_a_map_without_the_id_type_gives_no_id_operators() -> None:
    org = ReportOrg(
        make_rows(2500), operator_map={k: v for k, v in COMPARISONS_MAP.items() if k != "id"}
    )
    res = run(org)
    assert res.paged_on == "CREATED_DATE" and len(res) == 2500


def test_a_map_without_any_range_type_cannot_page() -> None:
    org = ReportOrg(make_rows(2500), operator_map={"string": ["equals"]})
    with pytest.raises(ReportPagingError, match="none of its columns can page"):
        run(org)


# --- the record Id column (fidelity-audit D10) ---------------------------------------------------


def _describe(columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"reportTypeMetadata": {"categories": [{"columns": columns}]}}


def _sample(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> list[list[dict[str, Any]]]:
    return [[{"label": r[c], "value": r[c]} for c in columns] for r in rows]


ID = {"dataType": "id"}


@pytest.mark.parametrize(
    ("report_type", "info", "expected"),
    [
        # standard types: the report type's own entity
        ("Opportunity", {"OPPORTUNITY_ID": {**ID, "entityColumnName": "Opportunity.Id"}}, "OPPORTUNITY_ID"),
        ("AccountList", {"ACCOUNT_ID": {**ID, "entityColumnName": "Account.Id"}}, "ACCOUNT_ID"),
        # a custom report type: its child Id is the only one that never repeats
        (
            "Opportunities_with_Products__c",
            {
                "Opportunity.Id": {**ID, "entityColumnName": "Opportunity.Id"},
                "OpportunityLineItem.Id": {**ID, "entityColumnName": "OpportunityLineItem.Id"},
            },
            "OpportunityLineItem.Id",
        ),
        # two Ids, both distinct in the run, neither the report type's: none is trusted
        (
            "Custom_Type__c",
            {"A__c.Id": {**ID, "entityColumnName": "A__c.Id"}, "B__c.Id": {**ID, "entityColumnName": "B__c.Id"}},
            None,
        ),
        # a formula text "Id" and a lookup are never the record Id
        ("Opportunity", {"KEY__c": {"dataType": "string", "isFormula": True}, "ACCOUNT_ID": {"dataType": "reference"}}, None),
        ("Opportunity", {"OPPORTUNITY_ID": {**ID, "isFormula": True}}, None),
    ],
)  # fmt: skip
def test_the_record_id_column_is_found_by_type_entity_and_distinct_values(
    report_type: str, info: dict[str, dict[str, Any]], expected: str | None
) -> None:
    columns = list(info)
    rows = []
    for i in range(6):
        row = {c: f"{c[:3]}{i:012d}" for c in columns}
        if "Opportunity.Id" in info and "OpportunityLineItem.Id" in info:
            row["Opportunity.Id"] = f"006{i // 3:012d}"  # three products per opportunity
        rows.append(row)
    metadata = {"reportType": {"type": report_type}, "detailColumns": columns}
    found = paging.record_id_column(metadata, _describe(info), _sample(columns, rows))
    assert found == expected


def test_an_id_column_that_repeats_in_a_run_stops_paging() -> None:
    rows = make_rows(4500)
    for i, row in enumerate(rows):
        if i >= 2000:  # distinct in the first run, repeated later: a parent's Id after all
            row["OPPORTUNITY_ID"] = rows[2000]["OPPORTUNITY_ID"]
    org = ReportOrg(rows, operator_map=DOCUMENTED_MAP)
    with pytest.raises(ReportPagingError, match="repeats its values"):
        run(org)


# --- filter values in the documented formats (fidelity-audit D7) -------------------------------


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        ("2015-08-12T16:05:43Z", "datetime", "2015-08-12T16:05:43Z"),
        ("2015-08-12T16:05:43.000Z", "datetime", "2015-08-12T16:05:43Z"),
        ("2015-08-12T16:05:43.999+0000", "datetime", "2015-08-12T16:05:43Z"),
        ("2015-08-12T18:05:43+02:00", "datetime", "2015-08-12T16:05:43Z"),
        ("2015-08-12T16:05:43", "datetime", "2015-08-12T16:05:43Z"),
        ("2015-08-12", "datetime", "2015-08-12"),
        ("2015-08-12", "date", "2015-08-12"),
        ("2015-08-12T00:00:00Z", "date", "2015-08-12"),
        ("8/12/2015", "date", "8/12/2015"),
    ],
)
def test_cursor_dates_are_sent_in_a_documented_format(
    value: str, data_type: str, expected: str
) -> None:
    assert paging.filter_date(value, data_type) == expected
    if expected != value or "T" in expected or data_type == "date":
        assert (
            re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", expected) or expected == value
        )


def test_paging_on_millisecond_datetimes_sends_whole_seconds_and_loses_nothing() -> None:
    rows = make_rows(4300)
    for i, row in enumerate(rows):
        row["CREATED_DATE"] = (
            f"2024-01-{(i % 28) + 1:02d}T10:{i % 60:02d}:{i % 7:02d}.{i % 1000:03d}+0000"
        )
    org = ReportOrg(rows, columns=("OPPORTUNITY_NAME", "AMOUNT", "CREATED_DATE"))
    res = run(org)
    assert res.paged_on == "CREATED_DATE" and len(res) == 4300
    sent = [b["reportFilters"][-1]["value"] for b in org.bodies[2:] if b is not None]
    assert sent and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", v) for v in sent)


# --- the org's hourly report runs (fidelity-audit D3) ------------------------------------------


def test_a_report_within_one_run_never_reads_the_limits() -> None:
    org = ReportOrg(make_rows(1500))
    assert len(run(org)) == 1500
    assert org.limits_reads == 0


def test_enough_sync_runs_left_pages_synchronously() -> None:
    org = ReportOrg(make_rows(9000), limits={"HourlySyncReportRuns": 7, "HourlyAsyncReportRuns": 0})
    res = run(org)  # the first run, then ceil(9000 / 2000) + 1 = 6 planned: 7 - 1 left suffice
    assert len(res) == 9000 and not org.instances
    assert org.limits_reads == 1


def test_too_few_sync_runs_left_pages_asynchronously() -> None:
    org = ReportOrg(
        make_rows(9000), limits={"HourlySyncReportRuns": 5, "HourlyAsyncReportRuns": 50}
    )
    res = run(org)
    assert len(res) == 9000 and res.details["Opportunity ID"].is_unique
    assert len(org.instances) == res.runs - 1  # every run after the first went async
    assert org.limits["HourlySyncReportRuns"] == 4


def test_neither_budget_raises_before_the_second_run_with_the_numbers() -> None:
    org = ReportOrg(make_rows(9000), limits={"HourlySyncReportRuns": 6, "HourlyAsyncReportRuns": 5})
    with pytest.raises(ReportRunLimitError) as info:
        run(org)
    # N is only known from a run: the first one is spent to learn it, no other is made
    assert len(org.bodies) == 1 and not org.instances
    error = info.value
    assert (error.runs_needed, error.sync_remaining, error.async_remaining) == (6, 5, 5)
    assert "9,000 rows" in str(error) and "6 more runs" in str(error)
    assert "5 synchronous and 5 asynchronous" in str(error)


def test_paging_on_a_changeable_column_plans_its_closing_check_run() -> None:
    # Amount can change under the paging: the closing check (reports._moves) is one run more
    # than the 6 planned for 9,000 rows, so 6 sync and 6 async left are too few.
    rows = make_rows(9000)
    columns = ("OPPORTUNITY_NAME", "AMOUNT")
    org = ReportOrg(
        rows, columns=columns, limits={"HourlySyncReportRuns": 7, "HourlyAsyncReportRuns": 6}
    )
    with pytest.raises(ReportRunLimitError) as info:
        run(org)
    assert len(org.bodies) == 1 and not org.instances
    assert (info.value.runs_needed, info.value.sync_remaining) == (7, 6)


def test_without_limits_access_paging_is_not_planned() -> None:
    org = ReportOrg(make_rows(4500), limits={})
    assert len(run(org)) == 4500
    assert org.limits_reads == 1


class Overstated(ReportOrg):
    """/limits says plenty, the org refuses sooner (another user spent the hour meanwhile)."""

    def answer(self, method: str, url: str, *, params: Any, json: Any, headers: Any) -> Any:
        if url == "limits":
            return {"HourlySyncReportRuns": {"Max": 500, "Remaining": 500},
                    "HourlyAsyncReportRuns": {"Max": 1200, "Remaining": 1200}}  # fmt: skip
        return super().answer(method, url, params=params, json=json, headers=headers)


def test_a_sync_run_refused_for_the_hourly_limit_moves_async() -> None:
    org = Overstated(
        make_rows(9000), limits={"HourlySyncReportRuns": 3, "HourlyAsyncReportRuns": 50}
    )
    res = run(org)
    assert len(res) == 9000 and res.details["Opportunity ID"].is_unique
    assert len(org.instances) == res.runs - 3  # three sync runs, then async


def test_an_async_run_refused_for_the_hourly_limit_raises_typed() -> None:
    org = Overstated(
        make_rows(9000), limits={"HourlySyncReportRuns": 2, "HourlyAsyncReportRuns": 1}
    )
    with pytest.raises(ReportRunLimitError, match="no report runs left this hour") as info:
        run(org)
    assert info.value.status == 403


def test_the_budget_is_read_once_and_spent_across_reports() -> None:
    org = ReportOrg(make_rows(4500), limits={"HourlySyncReportRuns": 8, "HourlyAsyncReportRuns": 0})
    run(org)  # 1 + 3 runs: 4 left, and the cache knows it
    with pytest.raises(ReportRunLimitError) as info:
        run(org)  # needs 4 after its first run; 3 left
    assert org.limits_reads == 1
    assert info.value.sync_remaining == 3


def test_the_limit_403_is_recognised_by_its_documented_text() -> None:
    from sfnotebook.reports._budget import run_limit

    def error(status: int, message: str) -> SalesforceError:
        return SalesforceError(message, status=status, error_code=None, sf_message=message)

    sync = (
        "You can\u2019t run more than 500 reports synchronously every 60 minutes. Try again later."
    )
    assert run_limit(error(403, sync)) == "sync"
    assert run_limit(error(403, sync.replace("synchronously", "asynchronously"))) == "async"
    assert run_limit(error(403, "You don't have permission to run reports.")) is None
    assert run_limit(error(400, sync)) is None


# --- slow sync runs (fidelity-audit D1) -----------------------------------------------------------


class Slow(ReportOrg):
    """The sync run takes longer than the client waits: the read times out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeouts: list[Any] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(method, url, **kwargs)

    def timeout_if_asked(self) -> None:
        super().timeout_if_asked()
        raise NetworkError("127.0.0.1 did not answer in time.", reason="timeout")


def test_a_sync_run_past_the_threshold_moves_async_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sfnotebook.reports._runner.time.sleep", lambda s: None)
    org = Slow(make_rows(4100))
    res = run(org)
    assert len(res) == 4100
    assert len(org.instances) == res.runs  # the slow sync run was not made again
    sync_timeouts = [t for t in org.timeouts if t is not None]
    assert sync_timeouts == [(10.0, SYNC_RUN_TIMEOUT)]


def test_the_threshold_never_lengthens_the_connections_read_timeout() -> None:
    class Conn(ReportOrg):
        timeout = (3.0, 30.0)

    assert Runner(Conn([]), REPORT_ID)._read_timeout() == (3.0, 30.0)
    assert Runner(Conn([]), REPORT_ID, sync_timeout=5.0)._read_timeout() == (3.0, 5.0)


def test_a_refused_body_does_not_move_async() -> None:
    class Refused(ReportOrg):
        def timeout_if_asked(self) -> None:
            raise ServerUnavailableError(
                "The request body is either invalid or incomplete.",
                status=500,
                error_code="JSON_PARSER_ERROR",
            )

    org = Refused(make_rows(10))
    with pytest.raises(ServerUnavailableError, match="invalid or incomplete"):
        run(org)
    assert not org.instances


# --- the column cap (fidelity-audit D11) ------------------------------------------------------------


def test_grouping_columns_past_the_column_cap_are_refused_before_paging() -> None:
    from sfnotebook.reports._groups import grouped_as_tabular

    metadata = {
        "name": "Wide",
        "reportFormat": "SUMMARY",
        "detailColumns": [f"C{i}" for i in range(98)],
        "groupingsDown": [{"name": "STAGE_NAME"}, {"name": "TYPE"}],
    }
    with pytest.raises(ReportPagingError, match="fewer than 100 columns") as info:
        grouped_as_tabular(metadata)
    assert "Remove 1 detail column" in str(info.value)
    metadata["groupingsDown"] = [{"name": "STAGE_NAME"}]
    assert len(grouped_as_tabular(metadata)[0]["detailColumns"]) == 99
