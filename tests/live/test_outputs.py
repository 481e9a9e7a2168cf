"""The same SOQL, report and extract as pandas, polars and a pyarrow.Table, on the demo org.

For every row of the dtype table the demo org has a field of, the three outputs must hold the
same column names, the row's types and equal values; then child frames, report details and
aggregates, and extract (its frame and its Parquet folder against the Arrow output).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sfnotebook
from sfnotebook import dtypes
from sfnotebook.soql.records import QueryResult
from tests.conftest import connect_to
from tests.unit.test_output import assert_same, columns_of

OUTPUTS = ("pandas", "polars", "arrow")


@pytest.fixture(scope="module")
def field_of_type(org: sfnotebook.Connection) -> dict[str, tuple[str, str]]:
    """Salesforce type -> (object, field): one plain (not compound-part) field per type."""
    found: dict[str, tuple[str, str]] = {}
    for name in ("Opportunity", "Account", "Contact", "Case", "Task", "User"):
        for field in org.describe(name)["fields"]:
            if not field.get("compoundFieldName"):
                found.setdefault(str(field["type"]), (name, str(field["name"])))
    return found


@pytest.mark.parametrize("sf_type", sorted(dtypes.TYPES))
def test_each_type_is_the_same_in_every_output(
    org: sfnotebook.Connection, field_of_type: dict[str, tuple[str, str]], sf_type: str
) -> None:
    if sf_type not in field_of_type:
        pytest.skip(f"the demo org has no field of type {sf_type} (unit-tested on JSON)")
    obj, field = field_of_type[sf_type]
    selected = "Id" if field == "Id" else f"Id, {field}"
    soql = f"SELECT {selected} FROM {obj} ORDER BY Id LIMIT 300"  # noqa: S608 - describe names
    pandas, polars, arrow = (org.query(soql, output=out) for out in OUTPUTS)
    row = dtypes.field_type(sf_type)
    assert pandas[field].dtype == row.pandas_dtype
    assert arrow.schema.field(field).type == row.arrow
    assert polars.schema[field] == pl.from_arrow(pa.array([], type=row.arrow)).dtype
    assert_same(pandas, polars, arrow)
    assert any(v is not None for v in arrow[field].to_pylist())  # the column holds data


def test_child_frames_in_every_output(org: sfnotebook.Connection) -> None:
    soql = (
        "SELECT Id, Name, (SELECT Id, LastName, Email, Birthdate FROM Contacts) FROM Account "
        "ORDER BY Id LIMIT 30"
    )
    results = [org.query(soql, output=out) for out in OUTPUTS]
    assert all(isinstance(r, QueryResult) for r in results)
    assert_same(*(r.frame for r in results))
    assert_same(*(r["Contacts"] for r in results))
    assert results[2]["Contacts"].column_names == ["AccountId", "Id", "LastName", "Email",
                                                   "Birthdate"]  # fmt: skip


def test_query_iter_and_count_in_every_output(org: sfnotebook.Connection) -> None:
    soql = "SELECT Id, Amount, CloseDate FROM Opportunity ORDER BY Id LIMIT 2500"
    chunks = {out: list(org.query_iter(soql, chunk_rows=1000, output=out)) for out in OUTPUTS}
    assert [len(c) for c in chunks["arrow"]] == [len(c) for c in chunks["pandas"]] == [2000, 500]
    assert_same(
        pd.concat(chunks["pandas"], ignore_index=True),
        pl.concat(chunks["polars"]),
        pa.concat_tables(chunks["arrow"]),
    )
    counts = [next(org.query_iter("SELECT COUNT() FROM Account", output=o)) for o in OUTPUTS]
    assert_same(*counts)


def test_report_details_and_aggregates_in_every_output(org: sfnotebook.Connection) -> None:
    catalog = org.reports()
    summary = catalog[catalog["format"] == "SUMMARY"]["id"].iloc[0]
    year = dt.datetime.now(dt.timezone.utc).year - 1  # the demo's dates end today: a full year
    month = [("CLOSE_DATE", "greaterOrEqual", f"{year}-03-01"), ("CLOSE_DATE", "lessOrEqual", f"{year}-03-31")]  # fmt: skip
    results = [org.report(summary, filters=month, progress=False, output=o) for o in OUTPUTS]
    assert len(results[0].details) > 0
    assert_same(*(r.details for r in results))
    levels = list(results[0].aggregates.index.names)
    assert results[2].aggregates.column_names[: len(levels)] == levels
    assert_same(results[0].aggregates.reset_index(), *(r.aggregates for r in results[1:]))
    assert [r.groupings for r in results[1:]] == [results[0].groupings] * 2
    assert "Report:" in results[2]._repr_html_()


def test_extract_and_its_parquet_folder_agree_with_the_arrow_output(
    org: sfnotebook.Connection, tmp_path: Path
) -> None:
    soql = (
        "SELECT Id, Name, Amount, Probability, CloseDate, IsWon, Seats__c, Competitors__c, "
        "Follow_Up_Time__c, CreatedDate, Account.Name FROM Opportunity WHERE Amount > 230000"
    )
    options: dict[str, Any] = {"max_records": 500, "poll_interval": 0.01, "progress": False}
    arrow = org.extract(soql, output="arrow", **options).sort_by("Id")
    pandas = org.extract(soql, **options).sort_values("Id", ignore_index=True)
    polars = org.extract(soql, output="polars", **options).sort("Id")
    assert arrow.num_rows > 1000
    assert_same(pandas, polars, arrow)
    folder = org.extract(soql, to=tmp_path / "opps", **options)
    written = pq.read_table(folder).sort_by("Id")
    assert written.schema.remove_metadata() == arrow.schema
    assert written.equals(arrow.replace_schema_metadata(written.schema.metadata))
    assert columns_of(written) == columns_of(arrow)


def test_the_connection_default_and_a_call_override(demo_org: Any) -> None:
    conn = connect_to(demo_org, output="arrow")
    assert conn.output == "arrow"
    soql = "SELECT Id, Amount FROM Opportunity ORDER BY Id LIMIT 5"
    assert isinstance(conn.query(soql), pa.Table)
    assert isinstance(conn.query(soql, output="pandas"), pd.DataFrame)
    conn.output = "polars"
    assert isinstance(sfnotebook.records_frame([{"Id": "a"}]), pd.DataFrame)  # no connection
    assert isinstance(conn.query(soql), pl.DataFrame)
