"""Reports against the demo org: every format, filter overrides, name lookup, paging past 2,000.

Reports are found by shape (format, grouping levels, size) from ``org.reports()`` and
``describe_report`` rather than by hard-coded Ids, so the tests follow the seeded definitions.
A report's own record count comes from a run without details (its grand-total RowCount, which
covers every row); filtered counts are also checked against the demo org's SOQL endpoint, a
separate engine.

Every test here runs under every combination of the report dialect switches the client must
survive (``id_filter_operators`` x ``report_id_cells``, :mod:`sfnotebook_demo.dialect`): the
session's demo org is switched for the module, then put back to its defaults.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import math
from collections.abc import Iterator
from typing import Any

import orjson
import pandas as pd
import pytest

from sfnotebook.errors import AmbiguousReportError, ReportNotFoundError
from sfnotebook.reports.frames import GRAND_TOTAL, TOTAL_COLUMN
from sfnotebook_demo.dialect import Dialect

SWITCHES = ("id_filter_operators", "report_id_cells")
DIALECTS = [
    dict(zip(SWITCHES, values, strict=True))
    for values in itertools.product(*(Dialect.choices()[s] for s in SWITCHES))
]


@pytest.fixture(scope="module", autouse=True, params=DIALECTS, ids=lambda d: ",".join(d.values()))
def dialect(request: pytest.FixtureRequest, demo_org: Any) -> Iterator[dict[str, str]]:
    demo_org.set_dialect(**request.param)
    yield request.param
    demo_org.set_dialect(**{name: Dialect.choices()[name][0] for name in SWITCHES})


Filter = tuple[str, str, str]


def window(start: str, end: str) -> list[Filter]:
    return [("CLOSE_DATE", "greaterOrEqual", start), ("CLOSE_DATE", "lessOrEqual", end)]


# The demo's dates are offsets from its build day (today): last calendar year is full of deals.
LAST_YEAR = dt.datetime.now(dt.timezone.utc).year - 1
MONTH = window(f"{LAST_YEAR}-03-01", f"{LAST_YEAR}-03-31")
WINDOWS = [
    window(f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-12-31"),
    window(f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-06-30"),
    window(f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-03-31"),
    [],
]


@pytest.fixture(scope="module")
def catalog(org: Any) -> pd.DataFrame:
    frame = org.reports()
    described = {rid: org.describe_report(rid)["reportMetadata"] for rid in frame["id"]}
    frame["down"] = [len(described[r]["groupingsDown"]) for r in frame["id"]]
    frame["across"] = [len(described[r]["groupingsAcross"]) for r in frame["id"]]
    frame["detail_columns"] = [described[r]["detailColumns"] for r in frame["id"]]
    frame["logic"] = [described[r]["reportBooleanFilter"] for r in frame["id"]]
    return frame


def record_count(org: Any, report_id: str, filters: list[Filter] | None = None) -> int:
    """The report's own record count (grand-total RowCount of a run without details)."""
    metadata = copy.deepcopy(org.describe_report(report_id)["reportMetadata"])
    for column, operator, value in filters or []:
        metadata["reportFilters"].append({"column": column, "operator": operator, "value": value})
        if metadata["reportBooleanFilter"]:
            n = len(metadata["reportFilters"])
            metadata["reportBooleanFilter"] = f"({metadata['reportBooleanFilter']}) AND {n}"
    resp = org.request(
        "POST",
        f"analytics/reports/{report_id}",
        params={"includeDetails": "false"},
        json={"reportMetadata": metadata},
    )
    payload = orjson.loads(resp.content)
    keys = payload["reportMetadata"]["aggregates"]
    return int(payload["factMap"]["T!T"]["aggregates"][keys.index("RowCount")]["value"])


def soql_count(org: Any, where: str) -> int:
    soql = "SELECT COUNT() FROM Opportunity WHERE " + where  # noqa: S608 - test literals only
    return int(org.get_json("query", params={"q": soql})["totalSize"])


def pick(catalog: pd.DataFrame, fmt: str, down: int, across: int = 0) -> str:
    rows = catalog[
        (catalog["format"] == fmt) & (catalog["down"] == down) & (catalog["across"] == across)
    ]
    assert len(rows), f"the demo org seeds no {fmt} {down}x{across} report"
    return str(rows["id"].iloc[0])


def check_grouped(res: Any, n: int, down: int, across: int) -> None:
    assert len(res.details) == n == res.aggregates["Record Count"].iloc[-1]
    assert res.aggregates.index.nlevels == down + across
    assert list(res.details.columns[: down + across]) == list(res.aggregates.index.names)
    leaves = res.aggregates[~res.aggregates[TOTAL_COLUMN]]["Record Count"]
    assert leaves.sum() == n
    # every detail row carries its groups, and each group holds its Record Count of rows
    groups = list(res.details.columns[: down + across])
    per_group = res.details.groupby(groups, sort=False, dropna=False).size()
    assert sorted(per_group.tolist()) == sorted(v for v in leaves.tolist() if v)
    if res.format == "MATRIX":
        grid = res.pivot("Record Count", totals=False)
        assert int(grid.to_numpy().sum()) == n
        assert grid.columns.nlevels == across


# --- formats ---------------------------------------------------------------------------------

FORMATS = [("SUMMARY", 1, 0), ("SUMMARY", 3, 0), ("MATRIX", 2, 1), ("MATRIX", 2, 2)]


@pytest.mark.parametrize(("fmt", "down", "across"), FORMATS)
def test_grouped_formats_in_one_run(
    org: Any, catalog: pd.DataFrame, fmt: str, down: int, across: int
) -> None:
    report_id = pick(catalog, fmt, down, across)
    n = record_count(org, report_id, MONTH)
    assert 0 < n <= 2000
    res = org.report(report_id, filters=MONTH, progress=False)
    assert (res.format, res.runs, res.paged_on) == (fmt, 1, None)
    check_grouped(res, n, down, across)


@pytest.mark.parametrize(("fmt", "down", "across"), [f for f in FORMATS if f[1] != 3])
def test_grouped_formats_past_the_limit(
    org: Any, catalog: pd.DataFrame, fmt: str, down: int, across: int
) -> None:
    report_id = pick(catalog, fmt, down, across)
    sizes = [(record_count(org, report_id, w), i) for i, w in enumerate(WINDOWS)]
    n, i = min((s for s in sizes if s[0] > 2000), key=lambda s: s[0])
    res = org.report(report_id, filters=WINDOWS[i], progress=False)
    assert res.paged_on is not None
    assert res.runs <= math.ceil(n / 2000) + 2
    check_grouped(res, n, down, across)
    # rows come in the report's group order
    first = res.details.columns[0]
    order = [k for k in res.aggregates.index.get_level_values(0) if k != GRAND_TOTAL]
    assert list(dict.fromkeys(res.details[first].fillna("-"))) == list(
        dict.fromkeys(pd.Series(order).fillna("-"))
    )


def test_tabular_in_one_run(org: Any, catalog: pd.DataFrame) -> None:
    report_id = str(catalog[catalog["name"] == "All Opportunities"]["id"].iloc[0])
    res = org.report(report_id, filters=MONTH, progress=False)
    assert len(res) == soql_count(org, "CloseDate >= 2025-03-01 AND CloseDate <= 2025-03-31")
    assert (res.runs, res.paged_on) == (1, None)
    assert res.aggregates.index.tolist() == [GRAND_TOTAL]
    assert res.aggregates["Record Count"].iloc[0] == len(res)
    details = res.details
    assert details["Amount"].dtype == "Float64"
    assert details["Close Date"].dtype == "datetime64[s]"
    assert details["Created Date"].dtype == "datetime64[ns, UTC]"
    assert details["Won"].dtype == "boolean"
    assert details["Opportunity ID"].str.len().eq(18).all()  # widened where cells hold 15
    soql = "SELECT Id FROM Opportunity WHERE CloseDate >= 2025-03-01 AND CloseDate <= 2025-03-31"
    ids = {r["Id"] for r in org.get_json("query", params={"q": soql})["records"]}
    assert set(details["Opportunity ID"]) == ids  # joins with SOQL results
    assert not details["Account Name"].str.startswith("001").any()  # names, not Ids


def test_describe_report(org: Any, catalog: pd.DataFrame) -> None:
    described = org.describe_report(str(catalog["name"].iloc[0]))
    assert {"reportMetadata", "reportExtendedMetadata", "reportTypeMetadata"} <= set(described)


def test_reports_listing(catalog: pd.DataFrame) -> None:
    assert catalog["id"].str.match(r"^00O\w{15}$").all()
    assert {"TABULAR", "SUMMARY", "MATRIX"} <= set(catalog["format"])
    assert catalog["folder"].notna().all()


# --- filters ---------------------------------------------------------------------------------


def test_filter_override_keeps_the_report_logic(org: Any, catalog: pd.DataFrame) -> None:
    report_id = str(catalog[catalog["logic"].notna()]["id"].iloc[0])
    saved = org.describe_report(report_id)["reportMetadata"]
    extra = [("AMOUNT", "greaterThan", "100000")]
    res = org.report(report_id, filters=extra, progress=False)
    n = len(saved["reportFilters"]) + 1
    assert res.metadata["reportBooleanFilter"] == f"({saved['reportBooleanFilter']}) AND {n}"
    assert len(res) == record_count(org, report_id, extra)
    assert 0 < len(res) < record_count(org, report_id)
    assert (res.details["Amount"] > 100000).all()


def test_filter_override_matches_soql(org: Any, catalog: pd.DataFrame) -> None:
    report_id = pick(catalog, "SUMMARY", 1)
    res = org.report(report_id, filters=[*MONTH, ("AMOUNT", "lessThan", 50000)], progress=False)
    where = "CloseDate >= 2025-03-01 AND CloseDate <= 2025-03-31 AND Amount < 50000"
    assert len(res) == soql_count(org, where)
    assert (res.details["Amount"] < 50000).all()


# --- names -----------------------------------------------------------------------------------


def test_unknown_name_lists_close_matches(org: Any, catalog: pd.DataFrame) -> None:
    name = str(catalog["name"].iloc[0])
    with pytest.raises(ReportNotFoundError, match="Close matches") as info:
        org.report(name[:-2] + "xx", progress=False)
    assert name in str(info.value)


def test_ambiguous_name_lists_every_candidate(org: Any, catalog: pd.DataFrame) -> None:
    name = catalog["name"][catalog["name"].duplicated()].iloc[0]
    rows = catalog[catalog["name"] == name]
    with pytest.raises(AmbiguousReportError) as info:
        org.report(name, progress=False)
    for report_id, folder in zip(rows["id"], rows["folder"], strict=True):
        assert report_id in str(info.value)
        assert folder in str(info.value)


def test_lookup_by_name(org: Any, catalog: pd.DataFrame) -> None:
    unique = catalog[~catalog["name"].duplicated(keep=False)].iloc[-1]
    res = org.report(str(unique["name"]).upper(), filters=MONTH, progress=False)
    assert res.id == unique["id"]


# --- past 2,000 rows -------------------------------------------------------------------------


def test_ten_thousand_row_report_is_fetched_whole(
    org: Any, catalog: pd.DataFrame, dialect: dict[str, str]
) -> None:
    tabular = catalog[catalog["format"] == "TABULAR"]["id"]
    sizes = {rid: record_count(org, rid) for rid in tabular}
    report_id, n = min(sizes.items(), key=lambda item: abs(item[1] - 10000))
    assert 5000 <= n <= 20000
    res = org.report(report_id, progress=False)
    assert len(res) == n
    assert res.details["Opportunity ID"].is_unique
    assert math.ceil(n / 2000) <= res.runs <= math.ceil(n / 2000) + 2
    # The record Id pages only where the org allows range filters on Ids (the documented map
    # does not): else Created Date does, its boundary rows dropped again by record Id.
    comparisons = dialect["id_filter_operators"] == "comparisons"
    assert res.paged_on == ("OPPORTUNITY_ID" if comparisons else "CREATED_DATE")


def test_all_opportunities_comes_back_whole_within_the_bound(
    org: Any, catalog: pd.DataFrame, dialect: dict[str, str]
) -> None:
    """The demo's largest report, on the documented map and with Id comparisons alike."""
    report_id = str(catalog[catalog["name"] == "All Opportunities"]["id"].iloc[0])
    n = record_count(org, report_id)
    res = org.report(report_id, progress=False)
    assert len(res) == n == res.aggregates["Record Count"].iloc[-1]
    assert res.details["Opportunity ID"].is_unique
    # Windows: the first run, the two probes, and a run or two where a window's month-count
    # estimate came out a few rows past two runs' worth.
    assert res.runs <= math.ceil(n / 2000) + 4
    print(f"\nAll Opportunities under {dialect}: {n:,} rows in {res.runs} runs, paged on "
          f"{res.paged_on} (bound {math.ceil(n / 2000) + 4})")  # fmt: skip


def test_formula_key_is_never_the_paging_cursor(org: Any, catalog: pd.DataFrame) -> None:
    with_formula = [
        rid
        for rid, cols in zip(catalog["id"], catalog["detail_columns"], strict=True)
        if "Opportunity.Opportunity_Key__c" in cols and "OPPORTUNITY_ID" not in cols
    ]
    assert with_formula, "the demo org seeds a report keyed only by a formula text column"
    filters = window(f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-06-30")
    n = record_count(org, with_formula[0], filters)
    assert n > 2000
    res = org.report(with_formula[0], filters=filters, progress=False)
    assert res.paged_on not in (None, "Opportunity.Opportunity_Key__c")
    assert len(res) == n
    assert res.details["Opportunity Key"].is_unique
    assert res.runs <= math.ceil(n / 2000) + 2


# --- a report that times out synchronously -----------------------------------------------------


def test_sync_timeout_falls_back_to_an_async_run(dialect: dict[str, str]) -> None:
    import sfnotebook
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=3_000, faults={"report_timeout": True}, dialect=dialect) as demo:
        slow = sfnotebook.connect(
            **demo.connect_kwargs(),
            env_file=False,
            set_default=False,
            backoff=0.01,
        )
        catalog = slow.reports()
        report_id = str(catalog[catalog["name"] == "All Opportunities"]["id"].iloc[0])
        res = slow.report(report_id, progress=False)
        n = soql_count(slow, "Id != null")
        assert n > 2000
        assert len(res) == n and res.details["Opportunity ID"].is_unique
        assert res.runs <= math.ceil(n / 2000) + 2
        assert demo.stats()["faults"].get("report_timeout", 0) >= 1


def test_a_crowded_close_date_is_split_on_another_column(org: Any, catalog: pd.DataFrame) -> None:
    """The demo's legacy import put over 2,000 opportunities on one close date, its earliest."""
    with_formula = [
        rid
        for rid, cols in zip(catalog["id"], catalog["detail_columns"], strict=True)
        if "Opportunity.Opportunity_Key__c" in cols and "OPPORTUNITY_ID" not in cols
    ]
    first = org.query("SELECT MIN(CloseDate) earliest FROM Opportunity")["earliest"].iloc[0]
    day = pd.Timestamp(first).date()
    crowd_day = day.isoformat()
    filters = window(crowd_day, (day + dt.timedelta(days=60)).isoformat())
    crowded = soql_count(org, f"CloseDate = {crowd_day}")
    assert crowded > 2000, f"only {crowded:,} opportunities share the legacy import's close date"
    n = record_count(org, with_formula[0], filters)
    res = org.report(with_formula[0], filters=filters, progress=False)
    # The first run shows the crowding, so a less crowded column leads; either way every row.
    assert res.paged_on in ("AMOUNT", "CLOSE_DATE")
    assert len(res) == n
    assert res.details["Opportunity Key"].is_unique
    assert (res.details["Close Date"].astype(str).str[:10] == crowd_day).sum() == crowded
    assert res.runs <= math.ceil(n / 2000) + 4
