"""Reports in the analyst's language, against the demo org: filters by label with = != < > in,
errors that list the valid columns and number filters as written (before any run), the
catalogue with folder names and search, ambiguity by folder, and "-" for empty groups.

The operator lists come from the report's describe, so the module runs under both values of
the demo's ``id_filter_operators`` switch (what an Id column takes is UNVERIFIED on real orgs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from sfnotebook.errors import AmbiguousReportError, ReportFilterError
from sfnotebook.reports.charts import matrix_level, summary_level
from sfnotebook.reports.frames import GRAND_TOTAL
from sfnotebook_demo.dialect import Dialect

PIPELINE = "Pipeline by Stage"
# The demo's dates end today: from July of last year on holds open and closed deals.
SINCE = f"{dt.datetime.now(dt.timezone.utc).year - 1}-07-01"
BOOKINGS = "Closed Bookings by Industry, Year and Stage"
MATRIX = "Owner Bookings by Year"


@pytest.fixture(scope="module", autouse=True, params=Dialect.choices()["id_filter_operators"])
def id_operators(request: pytest.FixtureRequest, demo_org: Any) -> Iterator[str]:
    demo_org.set_dialect(id_filter_operators=request.param)
    yield request.param
    demo_org.set_dialect(id_filter_operators=Dialect.choices()["id_filter_operators"][0])


def sync_runs_left(org: Any) -> int:
    return int(org.get_json("limits")["HourlySyncReportRuns"]["Remaining"])


def soql_count(org: Any, where: str) -> int:
    # The conditions are this module's own literals, not outside input.
    frame = org.query(f"SELECT COUNT(Id) n FROM Opportunity WHERE {where}")  # noqa: S608
    return int(frame["n"].iloc[0])


def grand_total(res: Any) -> int:
    agg = res.aggregates
    return int(agg.loc[agg["Is Total"]].iloc[-1]["Record Count"])


# --- filters ---------------------------------------------------------------------------------


def test_a_label_filter_is_the_api_filter(org: Any) -> None:
    by_label = org.report(PIPELINE, filters=[("Amount", ">", 100000)], progress=False)
    by_api = org.report(PIPELINE, filters=[("AMOUNT", "greaterThan", 100000)], progress=False)
    pd.testing.assert_frame_equal(by_label.aggregates, by_api.aggregates)
    assert grand_total(by_label) == soql_count(org, "Amount > 100000")
    assert (by_label.details["Amount"] > 100000).all()


@pytest.mark.parametrize(
    ("flt", "where"),
    [
        (("Stage", "in", ["Closed Won", "Closed Lost"]), "StageName IN ('Closed Won', 'Closed Lost')"),
        (("stage", "not in", ["Closed Won", "Closed Lost"]),
         "StageName NOT IN ('Closed Won', 'Closed Lost')"),
        (("Stage", "!=", "Closed Lost"), "StageName != 'Closed Lost'"),
        (("Amount", "<=", 5000), "Amount <= 5000"),
        (("Close Date", ">=", f"{SINCE}"), f"CloseDate >= {SINCE}"),
        (("Opportunity Name", "contains", "Air"), "Name LIKE '%Air%'"),
    ],
)  # fmt: skip
def test_analyst_operators_select_what_soql_selects(org: Any, flt: Any, where: str) -> None:
    res = org.report(PIPELINE, filters=[flt], progress=False)
    assert grand_total(res) == soql_count(org, where)


def test_a_bad_column_lists_the_valid_ones_and_costs_no_run(org: Any) -> None:
    before = sync_runs_left(org)
    filters = [("Stage", "=", "Closed Won"), ("Amout", ">", 100000)]
    with pytest.raises(ReportFilterError) as info:
        org.report(PIPELINE, filters=filters, progress=False)
    text = str(info.value)
    assert text.startswith("Filter 2 of 2 ('Amout', '>', 100000): the report has no column")
    assert "Did you mean 'Amount' (AMOUNT)" in text
    assert "'Stage' (STAGE_NAME)" in text and "'Close Date' (CLOSE_DATE)" in text
    assert "filter 3" not in text.lower()
    assert sync_runs_left(org) == before  # refused before the run


def test_a_bad_operator_lists_the_columns_operators(org: Any) -> None:
    with pytest.raises(ReportFilterError) as info:
        org.report(PIPELINE, filters=[("Amount", "contains", "5")], progress=False)
    assert "'contains' (contains) does not apply to 'Amount' (AMOUNT), a currency column" in str(
        info.value
    )
    assert ">= (greaterOrEqual)" in str(info.value)


def test_id_operators_follow_the_orgs_describe(org: Any, id_operators: str) -> None:
    flt = ("Opportunity ID", ">", "006000000000000AAA")
    if id_operators == "comparisons":
        res = org.report(PIPELINE, filters=[flt], progress=False)
        assert grand_total(res) == soql_count(org, "Id > '006000000000000AAA'")
    else:
        with pytest.raises(ReportFilterError, match="it takes = \\(equals\\), != \\(notEqual\\)"):
            org.report(PIPELINE, filters=[flt], progress=False)


def test_a_runs_refusal_numbers_the_filter_as_written(org: Any) -> None:
    """The report's own filters come first in reportFilters; the message counts the user's."""
    saved = org.describe_report("Open Pipeline", folder="Sales Reports")["reportMetadata"]
    assert saved["reportFilters"]  # so Salesforce's number for the user's filter is not 1
    with pytest.raises(ReportFilterError) as info:
        org.report(
            "Open Pipeline",
            folder="Sales Reports",
            filters=[("Close Date", ">", "NEXT_CENTURY")],
            progress=False,
        )
    text = str(info.value)
    assert text.startswith("Salesforce refused filter 1 of 1 ('Close Date', '>', 'NEXT_CENTURY')")


# --- the catalogue ---------------------------------------------------------------------------


def test_the_catalogue_has_folder_names_owners_and_search(org: Any) -> None:
    listed = org.reports()
    soql = org.query("SELECT Id, Name, FolderName, CreatedBy.Name, LastRunDate FROM Report")
    by_id = soql.set_index("Id")
    assert sorted(listed["id"]) == sorted(soql["Id"])
    for row in listed.itertuples():
        assert row.folder == by_id.loc[row.id, "FolderName"]
        assert row.owner == by_id.loc[row.id, "CreatedBy.Name"]
    found = org.reports(search="PIPELINE")
    assert set(found["name"]) == {"Open Pipeline", "Pipeline by Stage"}
    assert set(org.reports(search="marketing")["folder"]) == {"Marketing Reports"}


def test_an_ambiguous_name_names_each_folder_and_how_to_pick(org: Any) -> None:
    with pytest.raises(AmbiguousReportError) as info:
        org.report("Open Pipeline", progress=False)
    text = str(info.value)
    assert "in folder 'Sales Reports', created by" in text
    assert "in folder 'Marketing Reports', created by" in text
    assert "folder='Sales Reports'" in text
    picked = org.report("Open Pipeline", folder="Marketing Reports", progress=False)
    listed = org.reports(search="Open Pipeline")
    marketing = listed.loc[listed["folder"] == "Marketing Reports", "id"].tolist()
    assert [picked.id] == marketing and picked.id in info.value.candidates


# --- empty groups and charts -----------------------------------------------------------------


def test_empty_groups_read_dash_in_aggregates_levels_and_pivots(org: Any) -> None:
    res = org.report(BOOKINGS, progress=False)
    industries = res.aggregates.index.get_level_values("Industry")
    assert "-" in industries and not industries.isna().any()
    top = res.level("Industry", value="Record Count")
    assert "-" in top.index and GRAND_TOTAL not in top.index
    assert int(top.sum()) == grand_total(res)
    assert res.details["Industry"].isna().sum() == int(top["-"])  # data stays missing
    mine = org.report(BOOKINGS, empty_label="(none)", progress=False)
    assert "(none)" in summary_level(mine, 0).index
    matrix = org.report(MATRIX, progress=False)
    grid = matrix.pivot(totals=False)
    assert "-" in grid.index.get_level_values("Type")
    years = matrix_level(matrix, down="Type", value="Record Count")
    assert "-" in years.index.get_level_values("Type")
    assert int(years.sum().sum()) == grand_total(matrix)
