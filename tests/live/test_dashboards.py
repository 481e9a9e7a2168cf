"""Dashboards against the demo org: every component equals its report run directly.

The demo's dashboards are found through ``org.dashboards()`` and their describes, not by
hard-coded Ids. For every dashboard, unfiltered and with each dashboard filter option, each
component's aggregates must equal those of ``org.report()`` on the component's report with the
option's filters (at the component's grouping depth), and a table component's detail rows must
be the report's first rows in the component's sort order.
"""

from __future__ import annotations

import html
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import sfnotebook
from sfnotebook.dashboards import DashboardComponent
from sfnotebook.errors import (
    DashboardComponentError,
    DashboardFilterError,
    DashboardNotFoundError,
    DashboardRefreshError,
    InvalidArgumentError,
)
from sfnotebook.reports.frames import GRAND_TOTAL, SUBTOTAL, TOTAL_COLUMN
from tests.conftest import connect_to

OPPORTUNITIES = 5000  # past 2,000 open opportunities, so table components' reports page


@pytest.fixture(scope="module")
def demo_org() -> Iterator[Any]:
    """A demo org of this module's own: its refresh allowance and components are changed here."""
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=OPPORTUNITIES) as demo:
        yield demo


@pytest.fixture(scope="module")
def org(demo_org: Any) -> sfnotebook.Connection:
    return connect_to(demo_org)


@pytest.fixture(scope="module")
def listing(org: Any) -> pd.DataFrame:
    return org.dashboards()


Filter = tuple[str, str, object]


def option_filters(option: dict[str, Any], column: str) -> list[Filter]:
    """A dashboard filter option as the report filters it stands for (commas: a list)."""
    if option["operation"] == "between":
        return [(column, "greaterOrEqual", option["startValue"]),
                (column, "lessOrEqual", option["endValue"])]  # fmt: skip
    values = str(option["value"]).split(",")
    return [(column, option["operation"], values if len(values) > 1 else values[0])]


def report_filters_of(
    comp: DashboardComponent, describe: dict[str, Any], applied: dict[str, str]
) -> list[Filter]:
    out: list[Filter] = []
    for flt in comp.dashboard_filters:
        spec = next(f for f in describe["filters"] if f["name"] == flt["filter"])
        option = next(o for o in spec["options"] if o["id"] == flt["option_id"])
        out += option_filters(option, flt["column"])
    assert {f["filter"] for f in comp.dashboard_filters} == set(applied)
    return out


def at_depth(aggregates: pd.DataFrame, depth: int) -> pd.DataFrame:
    """A report's aggregates at the first ``depth`` grouping levels (its subtotals there)."""
    levels = aggregates.index.nlevels
    if not depth or levels <= depth:
        return aggregates
    keep = [
        all(p == SUBTOTAL for p in key[depth:]) or all(p == GRAND_TOTAL for p in key)
        for key in aggregates.index
    ]
    return aggregates[keep].droplevel(list(range(depth, levels)))


def keys(index: pd.Index) -> list[Any]:
    """Index labels with blanks as None (a MultiIndex holds them as NaN, a flat one as None)."""

    def blank(v: Any) -> Any:
        return None if not isinstance(v, str) and pd.isna(v) else v

    return [tuple(map(blank, k)) if isinstance(k, tuple) else blank(k) for k in index]


def assert_same_numbers(comp: DashboardComponent, report: Any) -> None:
    mine = comp.aggregates
    expected = at_depth(report.aggregates, len(comp.groupings))
    columns = [c for c in mine.columns if c != TOTAL_COLUMN]
    assert columns and set(columns) <= set(expected.columns), (comp.title, columns)
    assert keys(mine.index) == keys(expected.index), comp.title
    for column in columns:
        assert mine[column].tolist() == expected[column].tolist(), (comp.title, column)
    assert mine[TOTAL_COLUMN].tolist()[-1] is True


def assert_first_rows(comp: DashboardComponent, report: Any, sort: dict[str, str]) -> None:
    """The component's rows are the report's first ones in its sort order (ties: record Id).

    Blanks come first in ascending order and last in descending order, as in reports.
    """
    label = report.extended_metadata["detailColumnInfo"][sort["column"]]["label"]
    ascending = sort["sortOrder"] == "asc"
    rows = report.details.sort_values("Opportunity ID", kind="stable").sort_values(
        label, ascending=ascending, na_position="first" if ascending else "last", kind="stable"
    )
    expected = rows.head(comp.row_limit).reset_index(drop=True)
    assert len(expected) == min(comp.row_limit or 0, len(report.details))
    pd.testing.assert_frame_equal(comp.details, expected)


def views(describe: dict[str, Any]) -> Iterator[dict[str, str]]:
    """The unfiltered view, then each option of each filter alone."""
    yield {}
    for flt in describe["filters"]:
        for option in flt["options"]:
            yield {flt["name"]: option["id"]}


def test_dashboards_lists_every_demo_dashboard(listing: pd.DataFrame) -> None:
    assert list(listing.columns) == [
        "id", "name", "developer_name", "folder", "dashboard_type", "running_user",
        "components", "last_refreshed",
    ]  # fmt: skip
    assert set(listing["name"]) == {"Sales Pipeline", "Executive Overview", "Marketing Funnel"}
    assert str(listing["name"].dtype) == "string"
    assert str(listing["components"].dtype) == "Int64"
    assert str(listing["last_refreshed"].dtype).startswith("datetime64[")
    assert listing["folder"].str.startswith("00l").all()
    assert listing["running_user"].notna().all()
    assert set(listing["dashboard_type"]) == {"SpecifiedUser", "LoggedInUser"}


@pytest.mark.parametrize("name", ["Sales Pipeline", "Executive Overview", "Marketing Funnel"])
def test_every_component_equals_its_report_run_directly(org: Any, name: str) -> None:
    dashboard_id = str(
        next(
            d["id"] for d in org.request("GET", "analytics/dashboards").json() if d["name"] == name
        )
    )
    describe = org.request("GET", f"analytics/dashboards/{dashboard_id}/describe").json()
    sorts = {c["id"]: c["properties"]["sort"] for c in describe["components"]}
    runs: dict[tuple[str, str], Any] = {}
    checked = 0
    for applied in views(describe):
        res = org.dashboard(dashboard_id, filters=applied)
        assert [c.id for c in res] == [c["id"] for c in describe["components"]]
        assert [f["filter"] for f in res.filters] == list(applied)
        for comp in res:
            filters = report_filters_of(comp, describe, applied)
            key = (comp.report_id, repr(filters))
            if key not in runs:
                runs[key] = org.report(comp.report_id, filters=filters or None, progress=False)
            assert_same_numbers(comp, runs[key])
            if comp.details is not None:
                assert_first_rows(comp, runs[key], sorts[comp.id])
            checked += 1
    assert checked == len(describe["components"]) * len(list(views(describe)))


def test_components_carry_title_type_and_the_filters_applied(org: Any) -> None:
    res = org.dashboard("Sales Pipeline", filters={"opportunity type": "New Business"})
    assert res.name == "Sales Pipeline" and len(res) == 5
    assert [c.type for c in res] == ["Bar", "Donut", "Metric", "Table", "Gauge"]
    assert res[1].title == "Deals by stage"  # no title: the header
    assert res["Open pipeline"].footer == "Sum of Amount, open deals"
    assert res.filters[0]["filter"] == "Opportunity Type"
    assert res.filters[0]["option"] == "New Business"
    for comp in res:
        assert comp.dashboard_filters[0]["column"] == "TYPE"
        assert {"column": "TYPE", "operator": "equals", "value": "New Customer"}.items() <= (
            comp.report_filters[-1].items()
        )
        assert comp.refresh_date is not None and comp.warning is None
    assert res["Top 10 open deals"].row_limit == 10
    assert res["Pipeline by stage"].details is None
    assert res.running_user and not res.refreshed and res.notes == []
    shown = res._repr_html_()
    for comp in res:
        assert html.escape(comp.title) in shown
    assert "Opportunity Type = New Business" in shown
    assert "Sales Pipeline" in repr(res) and "5 components" in repr(res)
    with pytest.raises(KeyError, match="its components"):
        res["No such component"]


def test_refresh_spends_one_refresh_and_says_so(org: Any) -> None:
    before = org.dashboard("Executive Overview").last_refreshed
    left = org.limits(as_dict=True)["HourlyDashboardRefreshes"]["Remaining"]
    res = org.dashboard("Executive Overview", refresh=True)
    assert res.refreshed is True
    assert org.limits(as_dict=True)["HourlyDashboardRefreshes"]["Remaining"] == left - 1
    assert len(res.notes) == 1
    assert "spent one of the org's 200 dashboard refreshes per hour" in res.notes[0]
    assert f"({left - 1:,} of 200 left this hour)" in res.notes[0]
    assert res.last_refreshed is not None and before is not None
    assert res.last_refreshed > before
    assert "refreshed now" in repr(res) and html.escape(res.notes[0]) in res._repr_html_()


def test_a_refresh_already_running_is_waited_for_not_spent_again(org: Any) -> None:
    org.request("PUT", f"analytics/dashboards/{_id(org, 'Marketing Funnel')}")
    left = org.limits(as_dict=True)["HourlyDashboardRefreshes"]["Remaining"]
    res = org.dashboard("Marketing Funnel", refresh=True)
    assert org.limits(as_dict=True)["HourlyDashboardRefreshes"]["Remaining"] == left
    assert res.notes == [
        "A refresh of this dashboard was already running: it was waited for, and no refresh "
        "was spent."
    ]
    assert {c.status["refreshStatus"] for c in res} == {"IDLE"}


def _id(org: Any, name: str) -> str:
    return str(org.dashboards().set_index("name").loc[name, "id"])


def test_a_used_up_refresh_allowance_is_a_dashboard_refresh_error(org: Any, demo_org: Any) -> None:
    dashboards = demo_org.server.org.features["dashboards"]
    used = org.limits(as_dict=True)["HourlyDashboardRefreshes"]
    dashboards.refresh_max = used["Max"] - used["Remaining"]
    try:
        with pytest.raises(DashboardRefreshError, match="refresh=False") as caught:
            org.dashboard("Executive Overview", refresh=True)
        assert caught.value.status == 403 and caught.value.dashboard_id == _id(
            org, "Executive Overview"
        )
        assert org.dashboard("Executive Overview").refreshed is False  # reading still works
    finally:
        dashboards.refresh_max = 200


def test_a_broken_component_fails_the_dashboard_and_is_named(org: Any, demo_org: Any) -> None:
    dashboards = demo_org.server.org.features["dashboards"]
    res = org.dashboard("Marketing Funnel")
    broken = res[2].id
    dashboards.broken.add(broken)
    try:
        with pytest.raises(DashboardComponentError, match="No partial dashboard") as caught:
            org.dashboard("Marketing Funnel", refresh=True)
        assert caught.value.components == [broken]
        assert "error 202" in str(caught.value)
        assert "Marketing pipeline value" in str(caught.value)
    finally:
        dashboards.broken.discard(broken)
        org.dashboard("Marketing Funnel", refresh=True)


def test_filters_and_running_users_are_checked_before_the_data_is_read(
    org: Any, demo_org: Any
) -> None:
    sent = demo_org.stats()["requests_by_kind"]["data"]
    with pytest.raises(DashboardFilterError, match="has no filter 'Stage'") as caught:
        org.dashboard("Sales Pipeline", filters={"Stage": "Closed Won"})
    assert "'Opportunity Type'" in str(caught.value) and "'Lead Source'" in str(caught.value)
    with pytest.raises(DashboardFilterError, match="'Inbound', 'equals Partner Referral'"):
        org.dashboard("Sales Pipeline", filters={"Lead Source": "Web"})
    with pytest.raises(DashboardFilterError, match="has no filters"):
        org.dashboard("Executive Overview", filters={"Year": "2025"})
    with pytest.raises(DashboardFilterError, match="does not let you change its running user"):
        org.dashboard("Sales Pipeline", running_user="005Dm0000000001AAA")
    with pytest.raises(DashboardFilterError, match="not a User Id"):
        org.dashboard("Marketing Funnel", running_user="nobody")
    with pytest.raises(InvalidArgumentError, match="refresh must be True or False"):
        org.dashboard("Sales Pipeline", refresh="yes")
    # Each refused call made at most the list and the describe; none read the results.
    stats = demo_org.stats()["requests_by_kind"]["data"]
    assert stats - sent <= 10


def test_options_by_alias_value_or_id_and_a_running_user(org: Any) -> None:
    by_alias = org.dashboard("Marketing Funnel", filters={"Close Date": "2025"})
    option_id = by_alias.filters[0]["option_id"]
    by_id = org.dashboard("Marketing Funnel", filters={"Close Date": option_id[:15]})
    assert by_id[0].aggregates.equals(by_alias[0].aggregates)
    by_value = org.dashboard("Sales Pipeline", filters={"Lead Source": "partner referral"})
    assert by_value.filters[0]["value"] == "Partner Referral"
    users = org.query("SELECT Id, Name FROM User WHERE IsActive = true ORDER BY Id LIMIT 3")
    res = org.dashboard("Marketing Funnel", running_user=users["Id"][2])
    assert (res.running_user_id, res.running_user) == (users["Id"][2], users["Name"][2])


def test_unknown_names_and_ids(org: Any) -> None:
    with pytest.raises(DashboardNotFoundError, match="Close matches: 'Sales Pipeline'") as caught:
        org.dashboard("Sales Pipline")
    assert caught.value.close_matches == ["Sales Pipeline"]
    with pytest.raises(sfnotebook.errors.NotFoundError):
        org.dashboard("01ZDm0000000099AAA")
    with pytest.raises(InvalidArgumentError):
        org.dashboard("  ")
    assert org.dashboard("sales pipeline").name == "Sales Pipeline"


def test_output_libraries_and_api_names(org: Any) -> None:
    res = org.dashboard("Sales Pipeline", output="arrow", column_names="api")
    assert isinstance(res[0].aggregates, pa.Table)
    assert "s!AMOUNT" in res[0].aggregates.column_names
    assert isinstance(res["Top 10 open deals"].details, pa.Table)
    assert "AMOUNT" in res["Top 10 open deals"].details.column_names
    shown = res._repr_html_()  # the grand total, not a grouping label, outside pandas too
    total = res[0].aggregates.column("s!AMOUNT")[-1].as_py()
    assert f"s!AMOUNT: {total:,.2f}".rstrip("0").rstrip(".") in shown


def test_matrix_components_pivot(org: Any) -> None:
    comp = org.dashboard("Executive Overview")["Won bookings by owner and year"]
    report = org.report(comp.report_id, progress=False)
    pd.testing.assert_frame_equal(comp.pivot("Sum of Amount"), report.pivot("Sum of Amount"))


def test_the_module_level_verb_uses_the_default_connection(org: Any) -> None:
    sfnotebook.connection.set_default(org)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = sfnotebook.dashboard("Executive Overview")
        assert res.name == "Executive Overview"
    finally:
        sfnotebook.connection.set_default(None)


def test_reading_does_not_recompute_the_snapshot(org: Any) -> None:
    first = org.dashboard("Sales Pipeline").last_refreshed
    time.sleep(0.01)
    assert org.dashboard("Sales Pipeline").last_refreshed == first
