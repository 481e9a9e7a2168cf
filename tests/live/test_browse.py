"""Browse and export against the demo org: objects, fields, picklists, limits, the describe
card, and a real query and report written to Excel."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import sfnotebook
from sfnotebook import errors
from sfnotebook.browse import SObjectDescribe
from tests.conftest import connect_to


@pytest.fixture(scope="module")
def fresh(demo_org: Any) -> sfnotebook.Connection:
    """A connection of this module's own: its describe cache and request counts start empty."""
    return connect_to(demo_org)


def _requests(conn: sfnotebook.Connection) -> int:
    return conn.stats["requests"]


def test_objects_with_record_counts_that_match_soql(org: sfnotebook.Connection) -> None:
    before = _requests(org)
    frame = org.objects()
    assert _requests(org) - before == 2  # the global describe and one record count call
    rows = frame.set_index("name")
    assert {"Account", "Contact", "Opportunity"} <= set(rows.index)
    assert rows.loc["Account", "key_prefix"] == "001" and bool(rows.loc["Account", "queryable"])
    exact = org.query("SELECT COUNT() FROM Opportunity")
    assert rows.loc["Opportunity", "records"] == exact
    assert org.objects(search="opportun", counts=False)["name"].tolist() == ["Opportunity"]


def test_fields_come_from_the_cached_describe(fresh: sfnotebook.Connection) -> None:
    before = _requests(fresh)
    fields = fresh.fields("Account")
    picks = fresh.picklist("Opportunity", "StageName")
    fresh.fields("account")
    fresh.picklist("opportunity", "stagename")
    assert _requests(fresh) - before == 2  # one describe per object, then the cache
    describe = fresh.describe("Account")
    assert fields["name"].tolist() == [f["name"] for f in describe["fields"]]
    rows = fields.set_index("name")
    assert rows.loc["ParentId", "reference_to"] == ["Account"]
    assert (
        rows.loc["Type", "type"] == "picklist" and "Prospect" in rows.loc["Type", "picklist_values"]
    )
    stage = next(f for f in fresh.describe("Opportunity")["fields"] if f["name"] == "StageName")
    assert picks["value"].tolist() == [v["value"] for v in stage["picklistValues"]]
    assert {"Closed Won", "Closed Lost"} <= set(picks["value"])


def test_picklist_mistakes_are_typed_and_helpful(org: sfnotebook.Connection) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="Did you mean StageName"):
        org.picklist("Opportunity", "StagName")
    with pytest.raises(errors.InvalidArgumentError, match="not a picklist"):
        org.picklist("Opportunity", "Amount")
    with pytest.raises(errors.NotFoundError):
        org.fields("NoSuchObject__c")


def test_limits_frame_and_dict_agree(org: sfnotebook.Connection) -> None:
    frame = org.limits()
    raw = org.limits(as_dict=True)
    assert set(frame["name"]) == set(raw)
    rows = frame.set_index("name")
    sync = raw["HourlySyncReportRuns"]
    assert rows.loc["HourlySyncReportRuns", "max"] == sync["Max"]
    assert rows.loc["HourlySyncReportRuns", "remaining"] == sync["Remaining"]
    assert (frame["used"] == frame["max"] - frame["remaining"]).all()
    assert "Limits:" in frame._repr_html_()


def test_describe_is_the_same_json_shown_as_a_card(org: sfnotebook.Connection) -> None:
    describe = org.describe("Account")
    assert isinstance(describe, SObjectDescribe) and isinstance(describe, dict)
    assert json.loads(json.dumps(describe)) == dict(describe)
    assert describe["keyPrefix"] == "001"
    html = describe._repr_html_()
    assert len(html) < 3000 and "Describe: Account" in html
    assert repr(describe).startswith("<describe Account>")


def test_the_verbs_on_the_default_connection(demo_org: Any) -> None:
    conn = connect_to(demo_org, set_default=True)
    try:
        assert "Account" in set(sfnotebook.objects(counts=False)["name"])
        assert "Name" in set(sfnotebook.fields("Account")["name"])
        assert len(sfnotebook.picklist("Opportunity", "StageName")) > 0
    finally:
        conn.close()


def test_the_card_shows_usage_once_a_call_reported_it(fresh: sfnotebook.Connection) -> None:
    fresh.limits(as_dict=True)
    assert "requests (" in fresh._repr_html_()


def test_a_query_exports_to_excel_with_local_times(
    org: sfnotebook.Connection, tmp_path: Path
) -> None:
    df = org.query("SELECT Id, Name, Amount, CloseDate, CreatedDate FROM Opportunity LIMIT 50")
    assert isinstance(df["CreatedDate"].dtype, pd.DatetimeTZDtype)
    path = sfnotebook.to_excel(df, tmp_path / "opps.xlsx", tz="Europe/Paris")
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == ("Id", "Name", "Amount", "CloseDate", "CreatedDate")
    assert len(rows) == 1 + len(df)
    created = df["CreatedDate"].iloc[0].tz_convert("Europe/Paris").tz_localize(None)
    assert rows[1][4] == created.to_pydatetime().replace(
        microsecond=(created.microsecond // 1000) * 1000
    )
    assert rows[1][3] == dt.datetime.combine(df["CloseDate"].iloc[0].date(), dt.time())
    assert df.sf.to_csv(tmp_path / "opps.csv").read_text().count("\n") == 1 + len(df)


def test_a_report_exports_details_and_aggregates(
    org: sfnotebook.Connection, tmp_path: Path
) -> None:
    catalog = org.reports()
    summary = catalog[catalog["format"].str.upper() == "SUMMARY"]
    if summary.empty:
        pytest.skip("the demo org lists no summary report")
    res = org.report(summary["id"].iloc[0])
    path = sfnotebook.to_excel(res, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Details", "Aggregates"]
    assert book["Details"].max_row == 1 + len(res.details)
    assert book["Aggregates"].max_row == 1 + len(res.aggregates)
