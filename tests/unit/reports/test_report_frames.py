"""report_details / report_aggregates / pivot_matrix on sfnotebook's own report-run fixtures.

The fixtures in tests/fixtures/reports/ reproduce the shapes of real payloads (shuffled factMap
keys, detailColumnInfo in another order than detailColumns, currency objects, "-" cells, date-only
datetime values, <br> in addresses, cells without a ``rows`` key, float noise in sums).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sfnotebook.reports.frames import (
    GRAND_TOTAL,
    SUBTOTAL,
    TOTAL_COLUMN,
    report_aggregates,
    report_details,
)
from sfnotebook.reports.pivot import pivot_matrix

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
ALL = sorted(p.name for p in FIXTURES.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def deepest_row_count(payload: dict[str, Any]) -> int:
    md = payload["reportMetadata"]
    down = len(md["groupingsDown"]) if md["reportFormat"] != "TABULAR" else 0
    across = len(md["groupingsAcross"]) if md["reportFormat"] == "MATRIX" else 0

    def depth(key: str) -> int:
        return 0 if key == "T" else key.count("_") + 1

    total = 0
    for key, cell in payload["factMap"].items():
        d, a = key.split("!")
        if depth(d) == down and depth(a) == across:
            total += len(cell.get("rows", []))
    return total


def test_fixture_set_covers_every_shape() -> None:
    assert set(ALL) >= {
        "tabular.json",
        "empty.json",
        "summary_1.json",
        "summary_3.json",
        "matrix_2x1.json",
        "matrix_2x2.json",
        "matrix_2x2_no_details.json",
        "multi_currency.json",
    }


@pytest.mark.parametrize("name", ALL)
def test_one_row_per_detail_row_and_grouping_columns_lead(name: str) -> None:
    payload = load(name)
    df = report_details(payload)
    assert len(df) == deepest_row_count(payload)
    md = payload["reportMetadata"]
    info = payload["reportExtendedMetadata"]["groupingColumnInfo"]
    groups = md["groupingsDown"] + (md["groupingsAcross"] if md["reportFormat"] == "MATRIX" else [])
    expected = [info[g["name"]]["label"] for g in groups]
    assert list(df.columns[: len(expected)]) == expected
    assert df.columns.is_unique
    assert isinstance(df.index, pd.RangeIndex)


@pytest.mark.parametrize("name", [n for n in ALL if "no_details" not in n])
def test_detail_rows_match_the_grand_total_record_count(name: str) -> None:
    payload = load(name)
    agg = report_aggregates(payload)
    grand = agg[agg[TOTAL_COLUMN]].iloc[-1]
    assert grand["Record Count"] == len(report_details(payload))


# --- TABULAR: one parametrized case per type-table row --------------------------------------

TYPE_TABLE = [
    ("Opportunity Name", "string[pyarrow]"),
    ("Account Name", "string[pyarrow]"),
    ("Amount", "Float64"),
    ("Probability (%)", "Float64"),
    ("Close Date", "datetime64[s]"),
    ("Created Date", "datetime64[ns, UTC]"),
    ("Last Modified Date", "datetime64[ns, UTC]"),
    ("Won", "boolean"),
    ("Quantity", "Float64"),
    ("Age", "Int64"),
    ("Stage", "string[pyarrow]"),
    ("Billing Street", "string[pyarrow]"),
    ("Opportunity ID", "string[pyarrow]"),
]


@pytest.mark.parametrize(("column", "dtype"), TYPE_TABLE)
def test_tabular_column_types(column: str, dtype: str) -> None:
    df = report_details(load("tabular.json"))
    assert df[column].dtype == pd.api.types.pandas_dtype(dtype)


@pytest.mark.parametrize(("column", "dtype"), TYPE_TABLE)
def test_empty_report_keeps_typed_columns(column: str, dtype: str) -> None:
    df = report_details(load("empty.json"))
    assert len(df) == 0
    assert df[column].dtype == pd.api.types.pandas_dtype(dtype)


def test_tabular_values_are_what_users_see() -> None:
    payload = load("tabular.json")
    df = report_details(payload)
    cols = payload["reportMetadata"]["detailColumns"]
    first = payload["factMap"]["T!T"]["rows"][0]["dataCells"]
    # A lookup's value is an Id; the frame holds the name.
    assert first[cols.index("OPPORTUNITY_NAME")]["value"].startswith("006")
    assert df.loc[0, "Opportunity Name"] == first[cols.index("OPPORTUNITY_NAME")]["label"]
    assert df.loc[0, "Account Name"] == first[cols.index("ACCOUNT_NAME")]["label"]
    assert df.loc[0, "Amount"] == first[cols.index("AMOUNT")]["value"]["amount"]
    # Address labels carry <br>: users see line breaks.
    street = df["Billing Street"].dropna().iloc[0]
    assert "\n" in street and "<br>" not in street
    # Date-only value in a datetime column, full timestamps in another.
    assert df.loc[0, "Created Date"] == pd.Timestamp("2023-02-15", tz="UTC")
    assert df.loc[0, "Last Modified Date"] == pd.Timestamp("2024-03-01T09:30:01", tz="UTC")
    assert df.loc[0, "Close Date"] == pd.Timestamp("2024-02-02")
    assert df["Won"].sum() == sum(
        r["dataCells"][cols.index("WON")]["value"] for r in payload["factMap"]["T!T"]["rows"]
    )


def test_dash_cells_become_null() -> None:
    payload = load("tabular.json")
    df = report_details(payload)
    cols = payload["reportMetadata"]["detailColumns"]
    rows = payload["factMap"]["T!T"]["rows"]
    for column, api in [
        ("Amount", "AMOUNT"),
        ("Probability (%)", "PROBABILITY"),
        ("Billing Street", "ADDRESS1_STREET"),
        ("Last Modified Date", "LAST_UPDATE"),
        ("Quantity", "QUANTITY"),
    ]:
        dashes = [i for i, r in enumerate(rows) if r["dataCells"][cols.index(api)]["label"] == "-"]
        assert dashes, api
        assert df[column].isna().tolist() == [i in dashes for i in range(len(rows))]


def test_duplicate_labels_are_numbered() -> None:
    df = report_details(load("tabular.json"))
    assert "Owner" in df.columns and "Owner (2)" in df.columns
    assert (df["Owner"] != df["Owner (2)"]).all()


def test_single_currency_org_has_no_currency_code_column() -> None:
    df = report_details(load("tabular.json"))
    assert not any(c.endswith("Currency") for c in df.columns)


def test_multi_currency_adds_a_code_column_beside_the_amount() -> None:
    df = report_details(load("multi_currency.json"))
    assert list(df.columns) == ["Opportunity Name", "Amount", "Amount Currency", "Opportunity ID"]
    assert set(df["Amount Currency"].dropna()) == {"EUR", "USD"}
    assert (df["Amount"].isna() == df["Amount Currency"].isna()).all()


def test_api_column_names() -> None:
    payload = load("summary_1.json")
    df = report_details(payload, column_names="api")
    assert list(df.columns) == ["STAGE_NAME", *payload["reportMetadata"]["detailColumns"]]
    agg = report_aggregates(payload, column_names="api")
    assert list(agg.columns) == ["s!AMOUNT", "RowCount", TOTAL_COLUMN]
    assert agg.index.name == "STAGE_NAME"


def test_bad_column_names_option() -> None:
    with pytest.raises(ValueError, match="column_names"):
        report_details(load("tabular.json"), column_names="labels")  # type: ignore[arg-type]


# --- SUMMARY ---------------------------------------------------------------------------------


def test_summary_rows_follow_the_grouping_tree_not_the_factmap_key_order() -> None:
    payload = load("summary_1.json")
    df = report_details(payload)
    labels = [g["label"] for g in payload["groupingsDown"]["groupings"]]
    assert list(dict.fromkeys(df["Stage"])) == labels
    first_key = payload["groupingsDown"]["groupings"][0]["key"]
    first_rows = payload["factMap"][f"{first_key}!T"]["rows"]
    assert df["Opportunity ID"].iloc[: len(first_rows)].tolist() == [
        r["dataCells"][-1]["label"] for r in first_rows
    ]


def test_summary_one_level_aggregates() -> None:
    payload = load("summary_1.json")
    agg = report_aggregates(payload)
    assert list(agg.columns) == ["Sum of Amount", "Record Count", TOTAL_COLUMN]
    assert agg.index.name == "Stage"
    assert agg.index[-1] == GRAND_TOTAL
    assert agg[TOTAL_COLUMN].tolist() == [False] * (len(agg) - 1) + [True]
    assert agg["Record Count"].dtype == "Int64"
    assert agg["Sum of Amount"].dtype == "Float64"
    leaves = agg[~agg[TOTAL_COLUMN]]
    assert leaves["Record Count"].sum() == agg.loc[GRAND_TOTAL, "Record Count"]


def test_summary_three_levels_multiindex_with_subtotals() -> None:
    payload = load("summary_3.json")
    agg = report_aggregates(payload)
    assert agg.index.names == ["Type", "Close Date", "Lead Source"]
    assert agg.index[-1] == (GRAND_TOTAL,) * 3
    # one row per grouping node at every level, plus the grand total
    nodes = 0
    stack = list(payload["groupingsDown"]["groupings"])
    while stack:
        node = stack.pop()
        nodes += 1
        stack.extend(node["groupings"])
    assert len(agg) == nodes + 1
    level0 = agg[[idx[1] == SUBTOTAL and idx[0] != GRAND_TOTAL for idx in agg.index]]
    assert len(level0) == len(payload["groupingsDown"]["groupings"])
    leaves = agg[~agg[TOTAL_COLUMN]]
    assert leaves["Record Count"].sum() == 24
    assert level0["Sum of Amount"].sum() == pytest.approx(agg["Sum of Amount"].iloc[-1])
    # Subtotals come after their group's rows.
    first_type = agg.index[0][0]
    rows_of_first = [i for i, idx in enumerate(agg.index) if idx[0] == first_type]
    assert agg.index[rows_of_first[-1]] == (first_type, SUBTOTAL, SUBTOTAL)


def test_summary_three_levels_details_carry_every_group() -> None:
    df = report_details(load("summary_3.json"))
    assert list(df.columns[:3]) == ["Type", "Close Date", "Lead Source"]
    assert df["Close Date"].str.match(r"^[A-Z][a-z]+ 2024$").all()
    # "-" grouping (no lead source) -> null, the detail column named apart from the grouping
    assert df["Lead Source"].isna().any()
    assert df["Close Date (2)"].dtype == "datetime64[s]"


# --- MATRIX ----------------------------------------------------------------------------------


def test_matrix_details_carry_down_then_across_groups() -> None:
    df = report_details(load("matrix_2x1.json"))
    assert list(df.columns[:3]) == ["Type", "Account Name", "Close Date"]
    assert df[["Type", "Account Name", "Close Date"]].notna().all().all()


def test_matrix_aggregates_index_is_down_plus_across() -> None:
    agg = report_aggregates(load("matrix_2x2.json"))
    assert agg.index.names == ["Type", "Opportunity Owner", "Stage", "Close Date"]
    assert agg.loc[(GRAND_TOTAL,) * 4, "Record Count"] == 24
    cells = agg[~agg[TOTAL_COLUMN]]
    assert cells["Record Count"].sum() == 24


def test_matrix_without_detail_rows() -> None:
    with_rows = load("matrix_2x2.json")
    without = load("matrix_2x2_no_details.json")
    assert all("rows" not in cell for cell in without["factMap"].values())
    details = report_details(without)
    assert len(details) == 0
    assert list(details.columns) == list(report_details(with_rows).columns)
    pd.testing.assert_frame_equal(report_aggregates(without), report_aggregates(with_rows))


def test_pivot_matrix_grid() -> None:
    payload = load("matrix_2x1.json")
    grid = pivot_matrix(payload, "Record Count")
    down_nodes = sum(1 + len(g["groupings"]) for g in payload["groupingsDown"]["groupings"])
    across_nodes = len(payload["groupingsAcross"]["groupings"])
    assert grid.shape == (down_nodes + 1, across_nodes + 1)
    assert grid.index.names == ["Type", "Account Name"]
    assert grid.columns.name == "Close Date"
    assert list(grid.columns) == [g["label"] for g in payload["groupingsAcross"]["groupings"]] + [
        GRAND_TOTAL
    ]
    assert grid.loc[(GRAND_TOTAL, GRAND_TOTAL), GRAND_TOTAL] == 24
    assert grid[GRAND_TOTAL].dtype == "Int64"
    inner = pivot_matrix(report_aggregates(payload), "s!AMOUNT", totals=False)
    assert inner.shape == (down_nodes - len(payload["groupingsDown"]["groupings"]), across_nodes)
    assert inner.to_numpy().sum() == pytest.approx(323687.0)


def test_pivot_matrix_two_across_levels_gives_column_multiindex() -> None:
    grid = pivot_matrix(load("matrix_2x2.json"), totals=False)
    assert grid.columns.names == ["Stage", "Close Date"]
    assert int(grid.to_numpy().sum()) == 24  # first aggregate: Record Count


def test_pivot_matrix_refuses_other_formats_and_unknown_aggregates() -> None:
    with pytest.raises(ValueError, match="MATRIX"):
        pivot_matrix(load("summary_1.json"))
    with pytest.raises(ValueError, match="Sum of Amount"):
        pivot_matrix(load("matrix_2x1.json"), "Average Amount")


def test_tabular_aggregates_are_one_grand_total_row() -> None:
    agg = report_aggregates(load("tabular.json"))
    assert list(agg.index) == [GRAND_TOTAL]
    assert agg[TOTAL_COLUMN].tolist() == [True]
    assert agg.loc[GRAND_TOTAL, "Record Count"] == 24


# --- quirks on small inline payloads ---------------------------------------------------------


def tiny(cells: list[dict[str, Any]], data_type: str, **extra: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load("empty.json"))
    payload["reportMetadata"]["detailColumns"] = ["C"]
    payload["reportExtendedMetadata"]["detailColumnInfo"] = {
        "C": {"label": "C", "dataType": data_type}
    }
    payload["factMap"]["T!T"]["rows"] = [{"dataCells": [c]} for c in cells]
    payload.update(extra)
    return payload


@pytest.mark.parametrize(
    ("data_type", "cells", "expected"),
    [
        ("string", [{"label": "-", "value": None}, {"label": "", "value": ""}], [None, None]),
        ("string", [{"label": "-", "value": "-"}], ["-"]),  # a real dash is kept
        ("currency", [{"label": "-", "value": ""}, {"label": "$1", "value": 1}], [None, 1.0]),
        ("int", [{"label": "3", "value": 3.0}, {"label": "-", "value": None}], [3, None]),
        (
            "boolean",
            [{"label": "true", "value": "true"}, {"label": "", "value": None}],
            [True, None],
        ),
        ("Percent", [{"label": "60%", "value": 60}], [60.0]),  # case-insensitive dataType
        (
            "datetime",
            [{"label": "x", "value": "2015-08-12T16:05:43.000+0000"}],
            [pd.Timestamp("2015-08-12T16:05:43", tz="UTC")],
        ),
        ("reference", [{"label": "Acme", "value": "001000000000001AAA"}], ["Acme"]),
        (
            "id",
            [{"label": "006000000000001", "value": "006000000000001AAA"}],
            ["006000000000001AAA"],
        ),
    ],
)
def test_cell_quirks(data_type: str, cells: list[dict[str, Any]], expected: list[Any]) -> None:
    series = report_details(tiny(cells, data_type))["C"]
    assert [None if pd.isna(v) else v for v in series] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.1 + 0.2, 0.3),
        (16000.010000000000218, 16000.01),
        (2070543651.67001, 2070543651.67),
        (45589.051163125, 45589.051163125),  # an average keeps its digits
        (1.2345, 1.2345),
        (1e-7, 1e-7),
    ],
)
def test_aggregate_float_noise_is_removed(raw: float, expected: float) -> None:
    payload = copy.deepcopy(load("tabular.json"))
    payload["factMap"]["T!T"]["aggregates"][1]["value"] = raw
    agg = report_aggregates(payload)
    assert agg.loc[GRAND_TOTAL, "Sum of Amount"] == expected


def test_missing_factmap_cells_are_skipped_not_invented() -> None:
    payload = copy.deepcopy(load("summary_1.json"))
    first = payload["groupingsDown"]["groupings"][0]["key"]
    del payload["factMap"][f"{first}!T"]
    agg = report_aggregates(payload)
    assert len(agg) == len(payload["groupingsDown"]["groupings"])
    assert not np.any(agg.index == payload["groupingsDown"]["groupings"][0]["label"])


def test_converters_do_no_io() -> None:
    import ast

    import sfnotebook._output
    import sfnotebook._values
    import sfnotebook.dtypes
    import sfnotebook.reports._cells
    import sfnotebook.reports.frames
    import sfnotebook.reports.pivot

    for module in (
        sfnotebook.reports.frames,
        sfnotebook.reports.pivot,
        sfnotebook.reports._cells,
        sfnotebook.dtypes,
        sfnotebook._values,
        sfnotebook._output,
    ):
        tree = ast.parse(Path(str(module.__file__)).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add("." * node.level + (node.module or ""))
        roots = {name.split(".")[0] for name in imported}
        assert not roots & {"requests", "simple_salesforce", "urllib", "http", "socket"}, module
        if module in (
            sfnotebook.reports.frames,
            sfnotebook.reports._cells,
            sfnotebook.reports.pivot,
        ):
            # inside the package, only the other pure modules: the dtype table, its value
            # parsers, the output seam and the collector's pause
            inside = {n for n in imported if n.startswith(("sfnotebook", "."))}
            pure = {
                "sfnotebook._gc",
                "sfnotebook.reports._cells",
                "sfnotebook.dtypes",
                "sfnotebook._output",
                "sfnotebook._api",
                "sfnotebook.reports.frames",
            }
            assert inside <= pure | {"sfnotebook._values"}, module


def test_rows_in_cells_the_grouping_tree_does_not_name_are_kept() -> None:
    payload = copy.deepcopy(load("summary_1.json"))
    dropped = payload["groupingsDown"]["groupings"].pop()
    rows = payload["factMap"][f"{dropped['key']}!T"]["rows"]
    df = report_details(payload)
    assert len(df) == 24
    assert df["Stage"].isna().sum() == len(rows)
    assert df["Stage"].iloc[-len(rows) :].isna().all()
