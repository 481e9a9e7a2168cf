"""The report browser driven from Python: list, search, describe, filters, run, code, no secrets.

The widgets' values are set and their buttons clicked as a user's browser would, against the
session's demo org; what the browser shows is checked against the public verbs it calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

import sfnotebook  # noqa: E402
from sfnotebook import connection as connection_module  # noqa: E402
from sfnotebook.errors import SfNotebookError  # noqa: E402
from sfnotebook.notebook import _browser_model as model  # noqa: E402
from sfnotebook.notebook.report_browser import ReportBrowser, report_browser  # noqa: E402


def all_widgets(root: Any) -> Iterator[Any]:
    yield root
    for child in getattr(root, "children", ()):
        yield from all_widgets(child)


def saved_state(browser: ReportBrowser) -> str:
    """What a notebook would save for the browser: every widget's state, as JSON text."""
    return json.dumps([w.get_state() for w in all_widgets(browser)], default=str)


@pytest.fixture
def browser(org: Any) -> ReportBrowser:
    return ReportBrowser(org)


def report_id(org: Any, name: str, folder: str | None = None) -> str:
    frame = org.reports()
    rows = frame[(frame["name"] == name) & ((frame["folder"] == folder) if folder else True)]
    assert len(rows) == 1
    return str(rows["id"].iloc[0])


def test_lists_every_report_and_narrows_by_folder_and_search(
    browser: ReportBrowser, org: Any
) -> None:
    catalog = org.reports()
    assert [i for _, i in browser.reports.options] == catalog["id"].tolist()
    assert browser.folder.options == (model.ALL_FOLDERS, *sorted(set(catalog["folder"])))
    browser.search.value = "open PIPE"  # every word, any case
    names = {label.split("  (")[0] for label, _ in browser.reports.options}
    assert names == {"Open Pipeline"} and len(browser.reports.options) == 2
    browser.folder.value = catalog.loc[catalog["name"] == "Pipeline by Stage", "folder"].iloc[0]
    assert len(browser.reports.options) == 1
    browser.search.value = "no such report"
    assert browser.reports.options == () and browser.selected is None


def test_selecting_shows_format_columns_groupings_and_filters(
    browser: ReportBrowser, org: Any
) -> None:
    assert browser.run_button.disabled and browser.add_filter.disabled
    browser.reports.value = report_id(org, "Open Pipeline", _marketing(org))
    shown = browser.details.value
    for text in ("Tabular", "Opportunity Name", "Lead Source", "1 AND (2 OR 3)", "Saved filters"):
        assert text in shown
    assert "1. Closed equals &#x27;False&#x27;" in shown
    assert not browser.run_button.disabled and not browser.code_button.disabled
    browser.reports.value = report_id(org, "Owner Bookings by Year")
    shown = browser.details.value
    assert "Matrix" in shown and "Opportunity Owner, Type" in shown and "Close Date" in shown


def _marketing(org: Any) -> str:
    """The folder of the marketing team's "Open Pipeline" (another report has the name too)."""
    frame = org.reports()
    return str(frame.loc[frame["developer_name"] == "Open_Pipeline_Marketing", "folder"].iloc[0])


def test_filter_rows_offer_the_columns_and_operators_of_the_report_type(
    browser: ReportBrowser, org: Any
) -> None:
    browser.select("Pipeline by Stage")
    row = browser.add_filter_row("AMOUNT", "greaterThan", "250000")
    columns = [api for _, api in row.column.options]
    describe = org.describe_report("Pipeline by Stage")
    filterable = {
        name
        for category in describe["reportTypeMetadata"]["categories"]
        for name, info in category["columns"].items()
        if info.get("filterable", True)
    }
    assert set(columns) == filterable
    assert "Opportunity.Follow_Up_Time__c" not in columns  # not filterable
    assert [op for _, op in row.operator.options] == [
        "equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual",
    ]  # fmt: skip
    row.column.value = "Opportunity.Competitors__c"
    assert [op for _, op in row.operator.options] == ["equals", "notEqual", "includes", "excludes"]
    row.remove.click()
    assert browser.filter_rows.children == ()


def test_run_previews_rows_and_aggregates_equal_to_the_verb(
    browser: ReportBrowser, org: Any
) -> None:
    browser.select("Pipeline by Stage")
    browser.add_filter_row("AMOUNT", "greaterThan", "250000")
    browser.add_filter_row("STAGE_NAME", "equals", "Prospecting, Qualification")
    assert browser.filters() == [
        ("AMOUNT", "greaterThan", 250000),
        ("STAGE_NAME", "equals", ["Prospecting", "Qualification"]),
    ]
    browser.run_button.click()
    result = browser.result
    expected = org.report("Pipeline by Stage", filters=browser.filters(), progress=False)
    assert result.details.equals(expected.details)
    assert result.aggregates.equals(expected.aggregates)
    assert f"{expected.row_count:,} rows in" in browser.status.value
    preview = browser.preview.value
    assert "Aggregates" in preview and "Sum of Amount" in preview and "Prospecting" in preview
    assert preview.count("<tr") >= 10


def test_show_code_gives_a_call_that_reproduces_the_run(browser: ReportBrowser, org: Any) -> None:
    browser.select("Pipeline by Stage")
    browser.add_filter_row("CLOSE_DATE", "greaterOrEqual", "2025-01-01")
    browser.run_button.click()
    browser.code_button.click()
    assert browser.code.layout.display == ""
    assert browser.code.value == (
        "res = org.report(\n"
        "    'Pipeline by Stage',\n"
        "    filters=[\n"
        "        ('Close Date', '>=', '2025-01-01'),\n"
        "    ],\n"
        ")"
    )
    namespace: dict[str, Any] = {"org": org}
    exec(browser.code.value, namespace)  # noqa: S102 - the code the browser wrote
    assert namespace["res"].details.equals(browser.result.details)


def test_a_name_two_reports_share_is_written_as_the_id(org: Any) -> None:
    browser = ReportBrowser(org, variable="sf_org")
    rid = report_id(org, "Open Pipeline", _marketing(org))
    browser.reports.value = rid
    browser.code_button.click()  # before any run: the selection's call
    assert (
        browser.code.value == f"res = sf_org.report({rid!r})  # Open Pipeline ({_marketing(org)})"
    )


def test_a_refused_filter_shows_the_error_in_the_panel(browser: ReportBrowser) -> None:
    browser.select("Pipeline by Stage")
    browser.add_filter_row("AMOUNT", "greaterThan", "lots")  # not a number: Salesforce refuses
    assert browser.run() is None
    assert "The report did not run" in browser.status.value
    assert "lots" in browser.status.value
    assert browser.result is None and browser.preview.value == ""


def test_selecting_another_report_resets_the_run(browser: ReportBrowser, org: Any) -> None:
    browser.select("Pipeline by Stage")
    browser.add_filter_row("AMOUNT", "greaterThan", "1000000")
    browser.run_button.click()
    browser.code_button.click()
    browser.select("Opportunities Closing in 2025")
    assert browser.filter_rows.children == () and browser.result is None
    assert browser.preview.value == "" and browser.code.value == ""
    assert browser.code.layout.display == "none"
    with pytest.raises(SfNotebookError, match="2 listed reports match"):
        browser.select("Open Pipeline")


def test_no_secret_or_token_in_any_widget_state(
    browser: ReportBrowser, org: Any, demo_org: Any
) -> None:
    browser.select("Pipeline by Stage")
    browser.add_filter_row("AMOUNT", "greaterThan", "500000")
    browser.run_button.click()
    browser.code_button.click()
    state = saved_state(browser)
    assert "Pipeline by Stage" in state and "('Amount', '>', 500000)" in state  # state was read
    assert demo_org.consumer_secret not in state
    assert org.token.access_token.reveal() not in state
    assert "Bearer" not in state


def test_report_browser_uses_the_default_connection(org: Any) -> None:
    connection_module.set_default(None)
    with pytest.raises(SfNotebookError, match="No Salesforce connection yet"):
        report_browser()
    connection_module.set_default(org)
    try:
        assert sfnotebook.report_browser().selected is None
    finally:
        connection_module.set_default(None)


@pytest.mark.parametrize(
    ("text", "data_type", "value"),
    [
        ("", "string", None),
        ("  ", "currency", None),
        ("100000", "currency", 100000),
        ("-2.5", "percent", -2.5),
        ("100000", "string", "100000"),
        ("Web, Phone Inquiry", "picklist", ["Web", "Phone Inquiry"]),
        ("1,2", "int", [1, 2]),
        ("2025-01-01", "date", "2025-01-01"),
    ],
)
def test_typed_values(text: str, data_type: str, value: object) -> None:
    assert model.parse_value(text, data_type) == value


def test_the_call_without_filters_is_one_line() -> None:
    assert (
        model.report_call("org", "Pipeline by Stage", []) == "res = org.report('Pipeline by Stage')"
    )


def test_reports_without_folder_or_format_are_listed(org: Any) -> None:
    class Listing:
        """An org whose report list lacks folders and formats (the Analytics API fallback)."""

        def reports(self) -> Any:
            frame = org.reports()
            frame.loc[0, ["folder", "format"]] = None
            return frame

    browser = ReportBrowser(Listing())  # type: ignore[arg-type]
    label, _ = browser.reports.options[0]
    assert "(no folder, ?)" in label
    assert browser.folder.options[1] == ""


def test_the_call_names_columns_and_operators_as_an_analyst_writes_them() -> None:
    column = {"filterable": True, "dataType": "string"}
    describe = {
        "reportTypeMetadata": {
            "categories": [
                {"label": "Opportunity", "columns": {
                    "AMOUNT": {**column, "label": "Amount", "dataType": "currency"},
                    "STAGE_NAME": {**column, "label": "Stage"},
                    "CREATED_BY": {**column, "label": "Created By"},
                }},
                {"label": "Account", "columns": {
                    "ACCOUNT.CREATED_BY": {**column, "label": "Created By"},
                }},
            ]
        },
    }  # fmt: skip
    spoken = model.spoken_filters(
        describe,
        [
            ("AMOUNT", "greaterOrEqual", 100000),
            ("STAGE_NAME", "equals", ["Prospecting", "Qualification"]),
            ("STAGE_NAME", "notEqual", ["Closed Lost"]),
            ("STAGE_NAME", "startsWith", "Pro"),
            ("CREATED_BY", "equals", "Ada"),  # two columns share the label: the API name
        ],
    )
    assert spoken == [
        ("Amount", ">=", 100000),
        ("Stage", "in", ["Prospecting", "Qualification"]),
        ("Stage", "not in", ["Closed Lost"]),
        ("Stage", "startsWith", "Pro"),
        ("CREATED_BY", "=", "Ada"),
    ]
