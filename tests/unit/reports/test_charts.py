"""Empty groups read "-" (one rule everywhere a group is a label); the chart helpers pick one
level's groups, or a matrix's grid at one level, without subtotals."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sfnotebook.reports import frames
from sfnotebook.reports._result import ReportResult
from sfnotebook.reports.charts import matrix_level, summary_level
from sfnotebook.reports.frames import (
    GRAND_TOTAL,
    SUBTOTAL,
    TOTAL_COLUMN,
    report_aggregates,
    report_details,
)
from sfnotebook.reports.pivot import pivot_matrix

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def with_blank_down_group(payload: dict[str, Any]) -> dict[str, Any]:
    """The matrix with its second down group made blank, as Salesforce sends one ("-", null)."""
    out = copy.deepcopy(payload)
    node = out["groupingsDown"]["groupings"][1]
    node["label"], node["value"] = "-", None
    return out


def result_of(payload: dict[str, Any], **options: Any) -> ReportResult:
    return ReportResult(
        details=report_details(payload),
        aggregates=report_aggregates(payload, **options),
        payload=payload,
        runs=1,
        **options,
    )


# --- empty groups --------------------------------------------------------------------------


def test_an_empty_group_reads_dash_in_every_level_of_the_index() -> None:
    agg = report_aggregates(load("summary_3.json"))
    leads = agg.index.get_level_values("Lead Source")
    assert "-" in leads
    assert not leads.isna().any()  # not NaN in a MultiIndex, not None in an Index
    one = report_aggregates(with_blank_down_group(load("matrix_2x1.json")))
    assert "-" in one.index.get_level_values("Type")
    assert not one.index.get_level_values("Type").isna().any()
    assert agg.attrs["empty_label"] == "-"


def test_the_detail_rows_keep_an_empty_group_missing() -> None:
    details = report_details(load("summary_3.json"))
    assert details["Lead Source"].isna().any()
    assert not (details["Lead Source"] == "-").any()


def test_empty_label_per_call_and_module_default(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = load("summary_3.json")
    mine = report_aggregates(payload, empty_label="(none)")
    assert "(none)" in mine.index.get_level_values("Lead Source")
    monkeypatch.setattr(frames, "EMPTY_LABEL", "(blank)")
    assert "(blank)" in report_aggregates(payload).index.get_level_values("Lead Source")
    with pytest.raises(TypeError, match="empty_label must be a string"):
        report_aggregates(payload, empty_label=0)  # type: ignore[arg-type]


def test_pivot_and_charts_show_the_empty_label() -> None:
    payload = with_blank_down_group(load("matrix_2x1.json"))
    grid = pivot_matrix(payload, "Record Count", totals=False)
    assert "-" in grid.index.get_level_values("Type")
    relabelled = pivot_matrix(report_aggregates(payload), totals=False, empty_label="n/a")
    assert "n/a" in relabelled.index.get_level_values("Type")
    res = result_of(payload)
    assert list(res.level("Type").index) == ["Existing Customer - Upgrade", "-"]
    assert list(res.level("Type", empty_label="none").index)[-1] == "none"
    assert "-" in res.pivot(totals=False).index.get_level_values("Type")


# --- summary_level -------------------------------------------------------------------------


def test_summary_level_is_one_levels_groups_without_totals() -> None:
    res = result_of(load("summary_3.json"))
    top = summary_level(res, 0)
    assert list(top.index) == ["Existing Customer - Upgrade", "New Customer"]
    assert top.index.name == "Type"
    assert TOTAL_COLUMN not in top.columns
    assert top["Record Count"].sum() == res.aggregates["Record Count"].iloc[-1]
    assert summary_level(res, "Type").equals(top)
    assert summary_level(res.aggregates, "type").equals(top)  # a name, any case
    assert res.level("Type").equals(top)
    second = summary_level(res, "Close Date", value="Sum of Amount")
    assert isinstance(second, pd.Series) and second.name == "Sum of Amount"
    assert second.index.names == ["Type", "Close Date"]
    assert len(second) == 6
    assert not any(SUBTOTAL in i or GRAND_TOTAL in i for i in second.index)
    leaves = summary_level(res, -1, value="s!AMOUNT")
    assert leaves.index.nlevels == 3 and "-" in leaves.index.get_level_values(2)


def test_summary_level_of_a_matrix_is_the_row_or_column_totals() -> None:
    res = result_of(load("matrix_2x1.json"))
    rows = summary_level(res, "Type", value="Record Count")
    assert list(rows.index) == ["Existing Customer - Upgrade", "New Customer"]
    cols = summary_level(res, "Close Date", value="Record Count")
    assert list(cols.index) == [f"{m} 2024" for m in ("January", "February", "March", "April",
                                                      "May", "June")]  # fmt: skip
    assert rows.sum() == cols.sum() == 24


@pytest.mark.parametrize(
    ("level", "error", "words"),
    [
        ("Nope", ValueError, "No level grouping level 'Nope'; the levels are 0 'Type'"),
        (3, ValueError, "No level grouping level 3"),
        (True, TypeError, "a grouping level's position or name"),
    ],
)
def test_summary_level_refuses_unknown_levels(level: Any, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        summary_level(result_of(load("summary_3.json")), level)


def test_chart_helpers_refuse_tabular_reports_and_other_things() -> None:
    with pytest.raises(ValueError, match="TABULAR report has no groups"):
        summary_level(result_of(load("tabular.json")))
    with pytest.raises(TypeError, match="report result"):
        summary_level(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="needs a MATRIX report"):
        matrix_level(result_of(load("summary_3.json")))
    with pytest.raises(ValueError, match="No aggregate 'Sum'"):
        summary_level(result_of(load("summary_3.json")), value="Sum")


# --- matrix_level --------------------------------------------------------------------------


def test_matrix_level_is_a_grid_without_totals() -> None:
    res = result_of(load("matrix_2x1.json"))
    grid = matrix_level(res, value="Record Count")
    assert list(grid.index) == ["Existing Customer - Upgrade", "New Customer"]
    assert grid.columns.name == "Close Date" and len(grid.columns) == 6
    assert int(grid.to_numpy().sum()) == 24
    deeper = res.matrix_level(down="Account Name", value="s!AMOUNT")
    assert deeper.index.names == ["Type", "Account Name"] and len(deeper) == 4
    assert deeper.to_numpy().sum() == pytest.approx(323687.0)
    two = matrix_level(result_of(load("matrix_2x2.json")), across=1)
    assert two.columns.names == ["Stage", "Close Date"]
    assert int(two.to_numpy().sum()) == 24


def test_polars_aggregates_lead_with_the_same_labels() -> None:
    pl = pytest.importorskip("polars")
    frame = report_aggregates(load("summary_3.json"), output="polars")
    assert isinstance(frame, pl.DataFrame)
    assert "-" in frame["Lead Source"].to_list()
    assert frame["Lead Source"].null_count() == 0
