"""The dashboards wing on a fake org: every answer checked at the edge, nothing partial returned.

The fixture is a two-component dashboard shaped as Salesforce's "Get Dashboard Results" and
"Get Dashboard Metadata" examples show (a metric over a summary report, a table with detail
rows over a tabular report, one filter with two options); each test breaks one thing.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sfnotebook import errors
from sfnotebook._api import Json
from sfnotebook._values import api_datetime
from sfnotebook.dashboards import dashboard, dashboards
from sfnotebook.dashboards._select import match_dashboard
from tests.fakes import FakeOrg

DASH = "01ZD00000007S89MAE"
METRIC, TABLE = "01aD0000000a36LIAQ", "01aD0000000a36MIAQ"
SUMMARY, TABULAR = "00OD0000001g2nWMAQ", "00OD0000001g2nXMAQ"
OPTION_A, OPTION_B = "0ICD00000004CBiOAM", "0ICD00000004CBjOAM"
STAMP = "2014-04-09T00:28:16.000+0000"


def cell(label: str, value: Any) -> dict[str, Any]:
    return {"label": label, "value": value}


def summary_run() -> dict[str, Any]:
    return {
        "attributes": None,
        "allData": True,
        "factMap": {
            "T!T": {"aggregates": [cell("USD 30.00", 30.0)]},
            "0!T": {"aggregates": [cell("USD 10.00", 10.0)]},
            "1!T": {"aggregates": [cell("USD 20.00", 20.0)]},
        },
        "groupingsAcross": None,
        "groupingsDown": {
            "groupings": [
                {"groupings": [], "key": "0", "label": "Existing Business", "value": "E"},
                {"groupings": [], "key": "1", "label": "New Business", "value": "N"},
            ]
        },
        "hasDetailRows": False,
        "reportExtendedMetadata": {
            "aggregateColumnInfo": {"s!AMOUNT": {"dataType": "currency", "label": "Sum of Amount"}},
            "detailColumnInfo": {},
            "groupingColumnInfo": {"TYPE": {"dataType": "picklist", "groupingLevel": 0, "label": "Type"}},
        },
        "reportMetadata": {
            "aggregates": ["s!AMOUNT"],
            "detailColumns": [],
            "groupingsAcross": [],
            "groupingsDown": [{"dateGranularity": "None", "name": "TYPE", "sortOrder": "Asc"}],
            "id": SUMMARY,
            "name": "Simple Test",
            "reportFilters": [],
            "reportFormat": "SUMMARY",
        },
    }  # fmt: skip


def tabular_run(rows: int = 2, count: int = 5) -> dict[str, Any]:
    return {
        "attributes": None,
        "allData": False,
        "factMap": {
            "T!T": {
                "aggregates": [cell(str(count), count)],
                "rows": [
                    {"dataCells": [cell(f"Deal {i}", f"006D0000000000{i}AAA"), cell("$1", 1.0)]}
                    for i in range(rows)
                ],
            }
        },
        "groupingsAcross": None,
        "groupingsDown": {"groupings": []},
        "hasDetailRows": True,
        "reportExtendedMetadata": {
            "aggregateColumnInfo": {"RowCount": {"dataType": "int", "label": "Record Count"}},
            "detailColumnInfo": {
                "OPPORTUNITY_NAME": {"dataType": "string", "label": "Opportunity Name"},
                "AMOUNT": {"dataType": "currency", "label": "Amount"},
            },
            "groupingColumnInfo": {},
        },
        "reportMetadata": {
            "aggregates": ["RowCount"],
            "detailColumns": ["OPPORTUNITY_NAME", "AMOUNT"],
            "groupingsAcross": [],
            "groupingsDown": [],
            "id": TABULAR,
            "name": "Open Deals",
            "reportFilters": [{"column": "TYPE", "operator": "equals", "value": "N"}],
            "reportFormat": "TABULAR",
        },
    }


def component(
    index: int, cid: str, report: str, kind: str, aggregate: str, **props: Any
) -> dict[str, Any]:
    return {
        "componentData": index,
        "footer": None,
        "header": None,
        "id": cid,
        "properties": {
            "aggregates": [{"name": aggregate}],
            "filterColumns": [{"label": "Type", "name": "TYPE"}],
            "groupings": props.pop("groupings", None),
            "maxRows": props.pop("maxRows", None),
            "visualizationType": kind,
            **props,
        },
        "reportId": report,
        "title": None,
        "type": "Report",
    }  # fmt: skip


def metadata() -> dict[str, Any]:
    return {
        "attributes": {"dashboardId": DASH, "dashboardName": "Simple Dashboard", "type": "Dashboard"},
        "canChangeRunningUser": False,
        "components": [
            component(0, METRIC, SUMMARY, "Metric", "s!AMOUNT"),
            component(1, TABLE, TABULAR, "Table", "RowCount", maxRows=2),
        ],
        "dashboardType": "SpecifiedUser",
        "developerName": "Simple_Dashboard",
        "filters": [
            {
                "name": "Type",
                "options": [
                    {"alias": "New", "id": OPTION_A, "operation": "equals", "value": "N"},
                    {"alias": None, "id": OPTION_B, "operation": "equals", "value": "E"},
                ],
                "selectedOption": None,
            }
        ],
        "folderId": "00lR0000000DrojIAC",
        "id": DASH,
        "layout": {"columns": [{"components": [0, 1]}]},
        "name": "Simple Dashboard",
        "runningUser": {"displayName": "Allison Wheeler", "id": "005D00000016V2qIAE"},
    }  # fmt: skip


def status(**over: Any) -> dict[str, Any]:
    return {"dataStatus": "DATA", "errorCode": None, "errorMessage": None,
            "errorSeverity": None, "refreshDate": STAMP, "refreshStatus": "IDLE", **over}  # fmt: skip


def results() -> dict[str, Any]:
    return {
        "componentData": [
            {"componentId": METRIC, "reportResult": summary_run(), "status": status()},
            {"componentId": TABLE, "reportResult": tabular_run(), "status": status()},
        ],
        "dashboardMetadata": metadata(),
    }


Answer = Callable[[str, str, Mapping[str, str | int] | None], Any]


class Org(FakeOrg):
    """A fake org answering the Dashboards API from editable bodies, recording calls."""

    def __init__(self) -> None:
        super().__init__()
        self.listing: Any = [{"id": DASH, "name": "Simple Dashboard", "statusUrl": "s", "url": "u"}]
        self.describe_body: Any = metadata()
        self.results_body: Any = results()
        self.statuses: list[Any] = []
        self.refresh_answer: Any = {
            "statusUrl": f"/services/data/v62.0/analytics/dashboards/{DASH}/status"
        }
        self.limits_body: Any = {"HourlyDashboardRefreshes": {"Max": 200, "Remaining": 150}}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def answer(self, method: str, url: str, *, params: Mapping[str, str | int] | None,
               json: Json, headers: Mapping[str, str] | None) -> Any:  # fmt: skip
        self.calls.append((method, url, dict(params or {})))
        if url == "limits":
            return self.limits_body
        if url == "analytics/dashboards":
            return self.listing
        if url.endswith("/describe"):
            return self.describe_body
        if url.endswith("/status"):
            return self.statuses.pop(0) if self.statuses else {"componentStatus": []}
        if method == "PUT":
            return self.refresh_answer
        return self.results_body


@pytest.fixture
def org() -> Org:
    return Org()


def unexpected(org: Org, match: str, **kw: Any) -> errors.UnexpectedAnswerError:
    with pytest.raises(errors.UnexpectedAnswerError, match=match) as caught:
        dashboard(org, DASH, **kw)
    return caught.value


# --- what a good answer gives -----------------------------------------------------------------


def test_components_become_report_frames(org: Org) -> None:
    res = dashboard(org, "Simple Dashboard", filters={"type": "New"})
    assert org.calls[-1] == ("GET", f"analytics/dashboards/{DASH}", {"filter1": OPTION_A})
    metric, table = res
    assert metric.aggregates["Sum of Amount"].tolist() == [10.0, 20.0, 30.0]
    assert metric.aggregates.index.tolist() == [
        "Existing Business",
        "New Business",
        "(Grand Total)",
    ]
    assert metric.details is None and metric.groupings == ["Type"]
    assert metric.title == "Simple Test" and metric.type == "Metric"  # untitled: report name
    assert table.details["Opportunity Name"].tolist() == ["Deal 0", "Deal 1"]
    assert table.row_limit == 2 and table.report_filters[0]["column"] == "TYPE"
    assert table.dashboard_filters == [{**res.filters[0], "column": "TYPE"}]
    assert res.filters[0]["option"] == "New" and res.filters[0]["option_id"] == OPTION_A
    assert res.last_refreshed == dt.datetime(2014, 4, 9, 0, 28, 16, tzinfo=dt.timezone.utc)
    assert (res.running_user, res.folder_id) == ("Allison Wheeler", "00lR0000000DrojIAC")


def test_dashboards_frame(org: Org) -> None:
    org.statuses = [{"componentStatus": [
        {"componentId": METRIC, "refreshDate": STAMP, "refreshStatus": "IDLE"},
        {"componentId": TABLE, "refreshDate": "2014-04-10T00:00:00.000+0000", "refreshStatus": "IDLE"},
    ]}]  # fmt: skip
    frame = dashboards(org)
    row = frame.iloc[0]
    assert (row["name"], row["folder"], row["running_user"], row["components"]) == (
        "Simple Dashboard", "00lR0000000DrojIAC", "Allison Wheeler", 2,
    )  # fmt: skip
    assert str(row["last_refreshed"]) == "2014-04-10 00:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-04-09T00:28:16.000+0000", dt.datetime(2014, 4, 9, 0, 28, 16)),
        ("2014-04-09T00:28:16Z", dt.datetime(2014, 4, 9, 0, 28, 16)),
        ("2014-04-09T02:28:16.500+0200", dt.datetime(2014, 4, 9, 0, 28, 16, 500000)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_refresh_dates(text: Any, expected: dt.datetime | None) -> None:
    parsed = api_datetime(text)
    assert parsed == (expected.replace(tzinfo=dt.timezone.utc) if expected else None)


# --- answers that are not the Dashboards API's ------------------------------------------------


@pytest.mark.parametrize(
    ("part", "body", "match"),
    [
        ("listing", {"id": DASH}, "dashboard list answer .* a JSON object where an array"),
        ("listing", [{"id": "not an id", "name": "x"}], "an entry that is not a dashboard"),
        ("describe_body", b"<html>login</html>", "an HTML page"),
        ("describe_body", {"id": DASH, "name": "x", "components": {}}, "without a components list"),
        ("results_body", [], "a JSON array where an object belongs"),
        ("results_body", {"dashboardMetadata": metadata()}, "without componentData"),
    ],
)
def test_malformed_answers_are_unexpected(org: Org, part: str, body: Any, match: str) -> None:
    setattr(org, part, body)
    with pytest.raises(errors.UnexpectedAnswerError, match=match):
        dashboard(org, "Simple Dashboard")


def test_a_missing_component_is_refused(org: Org) -> None:
    org.results_body["componentData"].pop()
    unexpected(org, "1 componentData entries, but component .* is number 2")


def test_components_out_of_order_are_refused(org: Org) -> None:
    data = org.results_body["componentData"]
    data.reverse()
    unexpected(org, rf"componentData\[0\] for component {TABLE}, not {METRIC}")


def test_the_data_of_another_report_is_refused(org: Org) -> None:
    org.results_body["componentData"][0]["reportResult"]["reportMetadata"]["id"] = TABULAR
    unexpected(org, f"with the data of report {TABULAR}")


def test_aggregates_other_than_promised_are_refused(org: Org) -> None:
    run = org.results_body["componentData"][0]["reportResult"]
    run["reportMetadata"]["aggregates"] = ["RowCount"]
    unexpected(org, r"with aggregates \['RowCount'\], not \['s!AMOUNT'\]")


def test_other_groupings_than_promised_are_refused(org: Org) -> None:
    for body in (org.describe_body, org.results_body["dashboardMetadata"]):
        body["components"][0]["properties"]["groupings"] = [{"name": "STAGE_NAME"}]
    unexpected(org, r"grouped by \['TYPE'\], not \['STAGE_NAME'\]")


def test_a_factmap_cell_without_its_aggregates_is_refused(org: Org) -> None:
    org.results_body["componentData"][0]["reportResult"]["factMap"]["1!T"]["aggregates"] = []
    unexpected(org, "factMap cell 1!T lacks aggregates")


def test_results_of_another_dashboard_or_layout_are_refused(org: Org) -> None:
    org.results_body["dashboardMetadata"]["components"].reverse()
    unexpected(org, "components other than the describe lists")


def test_a_filter_set_to_another_option_is_refused(org: Org) -> None:
    org.results_body["dashboardMetadata"]["filters"][0]["selectedOption"] = 1
    unexpected(org, "filter 'Type' set to another option than asked", filters={"Type": "New"})
    org.results_body["dashboardMetadata"]["filters"][0]["selectedOption"] = 0
    assert dashboard(org, DASH, filters={"Type": "New"}).filters[0]["option_id"] == OPTION_A


# --- components without data, warnings, rows --------------------------------------------------


def test_error_and_nodata_components_fail_the_dashboard_all_named(org: Org) -> None:
    data = org.results_body["componentData"]
    data[0].update(reportResult=None, status=status(dataStatus="ERROR", errorCode="202",
                   errorMessage="The source report isn't available", errorSeverity="Error"))  # fmt: skip
    data[1].update(reportResult=None, status=status(dataStatus="NODATA", refreshDate=None))
    with pytest.raises(errors.DashboardComponentError) as caught:
        dashboard(org, DASH)
    assert caught.value.components == [METRIC, TABLE]
    assert caught.value.dashboard_id == DASH
    text = str(caught.value)
    assert "2 of 2 components" in text and "error 202: The source report" in text
    assert "no data yet" in text and "refresh=True" in text


def test_a_warning_is_warned_and_kept(org: Org) -> None:
    org.results_body["componentData"][0]["status"] = status(
        errorCode="230", errorMessage="Some rows were left out", errorSeverity="Warning"
    )
    with pytest.warns(errors.DashboardWarning, match="may be incomplete"):
        res = dashboard(org, DASH)
    assert res[0].warning == "230: Some rows were left out"
    assert "230: Some rows were left out" in res._repr_html_()


@pytest.mark.parametrize(
    ("rows", "count", "ok"), [(2, 5, True), (1, 5, False), (1, 1, True), (2, 1, False)]
)
def test_detail_rows_must_match_the_row_limit_and_record_count(
    org: Org, rows: int, count: int, ok: bool
) -> None:
    org.results_body["componentData"][1]["reportResult"] = tabular_run(rows, count)
    if ok:
        assert len(dashboard(org, DASH)[1].details) == rows
        return
    with pytest.raises(errors.IncompleteResultError) as caught:
        dashboard(org, DASH)
    assert (caught.value.expected, caught.value.received) == (min(2, count), rows)


def test_non_report_components_are_listed_without_data(org: Org) -> None:
    page = {"componentData": None, "footer": None, "header": "Welcome", "id": "01aD0000000a36NIAQ",
            "properties": {"pageName": "Welcome", "height": 200}, "reportId": None,
            "title": None, "type": "VisualforcePage"}  # fmt: skip
    org.describe_body["components"].append(page)
    org.results_body["dashboardMetadata"]["components"].append(copy.deepcopy(page))
    res = dashboard(org, DASH)
    assert len(res) == 3 and res[2].aggregates is None and res[2].title == "Welcome"
    assert res[2].type == "VisualforcePage" and "no data" in repr(res[2])


# --- refresh ----------------------------------------------------------------------------------


def idle() -> dict[str, Any]:
    return {
        "componentStatus": [{"componentId": METRIC, "refreshDate": STAMP, "refreshStatus": "IDLE"}]
    }


def running() -> dict[str, Any]:
    return {
        "componentStatus": [
            {"componentId": METRIC, "refreshDate": STAMP, "refreshStatus": "RUNNING"}
        ]
    }


def test_refresh_puts_waits_and_says_what_it_spent(org: Org) -> None:
    org.statuses = [running(), running(), idle()]
    res = dashboard(org, DASH, refresh=True, filters={"Type": OPTION_B})
    methods = [(m, u.rsplit("/", 1)[-1], p) for m, u, p in org.calls]
    assert ("PUT", DASH, {"filter1": OPTION_B}) in methods
    assert methods.count(("GET", "status", {"filter1": OPTION_B})) == 3
    assert methods[-1] == ("GET", DASH, {"filter1": OPTION_B})  # results after the refresh
    assert res.refreshed and res.notes == [
        "Refreshed on request: this spent one of the org's 200 dashboard refreshes per hour "
        "(150 of 200 left this hour)."
    ]


def test_refresh_without_limits_access_still_says_it_spent_one(org: Org) -> None:
    org.limits_body = errors.SalesforceError("no access", status=403)
    org.statuses = [idle()]
    res = dashboard(org, DASH, refresh=True)
    assert res.notes == ["Refreshed on request: this spent one of the org's 200 dashboard "
                         "refreshes per hour."]  # fmt: skip


def test_a_refresh_in_progress_is_waited_for(org: Org) -> None:
    org.refresh_answer = errors.SalesforceError(
        "x", status=400, error_code="BAD_REQUEST",
        sf_message="You can't refresh this dashboard. A refresh is already in progress.",
    )  # fmt: skip
    org.statuses = [running(), idle()]
    res = dashboard(org, DASH, refresh=True)
    assert "already running" in res.notes[0] and "no refresh was spent" in res.notes[0]
    assert not any(u == "limits" for _, u, _ in org.calls)


def test_a_refused_refresh_is_a_refresh_error(org: Org) -> None:
    org.refresh_answer = errors.SalesforceError("x", status=403, sf_message="Try again later.")
    with pytest.raises(
        errors.DashboardRefreshError, match="200 dashboard refreshes per hour"
    ) as caught:
        dashboard(org, DASH, refresh=True)
    assert caught.value.status == 403 and caught.value.dashboard_id == DASH


def test_a_refresh_that_does_not_finish_times_out(org: Org) -> None:
    org.statuses = [running()] * 50
    with pytest.raises(errors.DashboardRefreshError, match="still running after 0 s"):
        dashboard(org, DASH, refresh=True, refresh_timeout=0.0)


def test_a_refresh_answer_without_status_url_is_unexpected(org: Org) -> None:
    org.refresh_answer = {"ok": True}
    with pytest.raises(errors.UnexpectedAnswerError, match="without a statusUrl"):
        dashboard(org, DASH, refresh=True)


# --- choosing -------------------------------------------------------------------------------


def test_names_ambiguous_and_unknown() -> None:
    listed = [{"id": DASH, "name": "Sales"}, {"id": "01ZD00000007S8AMAE", "name": "sales"}]
    assert match_dashboard(listed, "Sales") == DASH
    with pytest.raises(errors.AmbiguousDashboardError) as caught:
        match_dashboard([*listed, {"id": "01ZD00000007S8BMAE", "name": "Sales"}], "Sales")
    assert caught.value.candidates == [DASH, "01ZD00000007S8BMAE"]
    with pytest.raises(errors.DashboardNotFoundError, match="org.dashboards()"):
        match_dashboard(listed, "Marketing")


def test_option_matching_several_is_refused(org: Org) -> None:
    org.describe_body["filters"][0]["options"][1]["alias"] = "new"  # two options called "New"
    with pytest.raises(errors.DashboardFilterError, match="Several options .* match 'New'"):
        dashboard(org, DASH, filters={"Type": "New"})
    assert [u for _, u, _ in org.calls] == [f"analytics/dashboards/{DASH}/describe"]
    assert dashboard(org, DASH, filters={"Type": OPTION_B}).filters[0]["option_id"] == OPTION_B


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"filters": [("Type", "New")]}, errors.DashboardFilterError, "takes a dict"),
        ({"filters": {"Type": ["New"]}}, errors.DashboardFilterError, "has no option"),
        ({"running_user": "005D00000016V2qIAE"}, errors.DashboardFilterError, "does not let you"),
        ({"column_names": "labels"}, ValueError, "column_names"),
    ],
)
def test_bad_arguments_are_refused_before_the_results(
    org: Org, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        dashboard(org, DASH, **kwargs)
    assert not any(u == f"analytics/dashboards/{DASH}" for _, u, _ in org.calls)
