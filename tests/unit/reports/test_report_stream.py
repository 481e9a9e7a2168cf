"""Report runs decoded into cell structs and converted run by run give the frames the whole
conversion gives (:mod:`sfnotebook.reports._cells`, :mod:`sfnotebook.reports._run_columns`).

Payloads: the repository's fixtures, the real ones in ../shared/real-payloads/reports/ when
present, and made-up runs with the awkward values (``-``, blanks, currency objects with
codes, 15-character Ids, fractional numbers in an int column in one run only, short rows).
"""

from __future__ import annotations

import copy
import gc
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from sfnotebook.reports._cells import Cell, cell_value, convert_cells, decode_run
from sfnotebook.reports._run_columns import Converter
from sfnotebook.reports.frames import detail_rows, frame_from_detail_rows

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
REAL = Path(__file__).resolve().parents[4] / "shared" / "real-payloads" / "reports"
FILES = sorted(FIXTURES.glob("*.json")) + (sorted(REAL.glob("*.json")) if REAL.is_dir() else [])

COLUMNS = {
    "ID": "id",
    "NAME": "string",
    "AMOUNT": "currency",
    "QTY": "int",
    "WHEN": "datetime",
    "DAY": "date",
    "WON": "boolean",
    "PCT": "percent",
}


def _payload(rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "allData": True,
        "factMap": {"T!T": {"aggregates": [], "rows": [{"dataCells": r} for r in rows]}},
        "reportMetadata": {"detailColumns": list(COLUMNS), "reportFormat": "TABULAR"},
        "reportExtendedMetadata": {
            "detailColumnInfo": {c: {"dataType": t, "label": c} for c, t in COLUMNS.items()}
        },
    }


def _row(i: int, *, fraction: bool = False) -> list[dict[str, Any]]:
    blank = i % 7 == 0
    amount: Any = {"amount": 10.5 * i, "currency": "EUR" if i % 3 else None}
    return [
        {"label": "001xx0000000" + f"{i:03d}", "value": "001xx0000000" + f"{i:03d}"},
        {"label": "-" if blank else f"Name<br>{i}", "value": None if blank else f"n{i}"},
        {"label": "-", "value": None} if blank else {"label": f"EUR {i}", "value": amount},
        {"label": str(i), "value": i + 0.5 if fraction else (float(i) if i % 2 else i)},
        {"label": "x", "value": "-" if blank else f"2024-01-{1 + i % 28:02d}T10:00:00Z"},
        {"label": "x", "value": "" if blank else f"2024-02-{1 + i % 28:02d}"},
        {"label": "x", "value": None if blank else ("true" if i % 5 == 0 else i % 2 == 0)},
        {"label": "x", "value": "1,200" if i == 3 else i / 3},
    ]


def _runs() -> list[bytes]:
    first = [_row(i) for i in range(1, 40)]
    second = [_row(i, fraction=i == 45) for i in range(40, 80)]
    third = [_row(i) for i in range(80, 90)] + [_row(90)[:3]]  # a short row
    return [orjson.dumps(_payload(rows)) for rows in (first, second, third)]


def _streamed(first: dict[str, Any], runs: list[bytes]) -> tuple[Any, list[Any]]:
    converter = Converter(first)
    rows = []
    for raw in runs:
        decoded = decode_run(raw)
        assert decoded is not None
        got = detail_rows(decoded)
        converter.segment()([cells for _, cells in got])
        rows.extend(got)
    return converter, rows


@pytest.mark.parametrize("order", [None, "reversed"])
def test_runs_converted_one_by_one_give_the_whole_conversion(order: str | None) -> None:
    runs = _runs()
    first = orjson.loads(runs[0])
    whole = [row for raw in runs for row in detail_rows(orjson.loads(raw))]
    positions = list(range(len(whole)))[::-1] if order else None
    if positions is not None:
        whole = [whole[i] for i in positions]
    expected = frame_from_detail_rows(first, whole)
    converter, rows = _streamed(first, runs)
    if positions is not None:
        rows = [rows[i] for i in positions]
    got = frame_from_detail_rows(first, rows, converted=converter.columns(positions))
    pd.testing.assert_frame_equal(got, expected)
    assert str(got["QTY"].dtype) == "Float64", "one fractional value widens the whole column"
    assert "AMOUNT Currency" in got.columns


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_struct_cells_convert_like_dict_cells(path: Path) -> None:
    raw = path.read_bytes()
    plain = orjson.loads(raw)
    fast = decode_run(raw)
    assert fast is not None and set(fast) == set(plain)
    assert {k: v for k, v in fast.items() if k != "factMap"} == {
        k: v for k, v in plain.items() if k != "factMap"
    }
    pd.testing.assert_frame_equal(
        frame_from_detail_rows(fast, detail_rows(fast)),
        frame_from_detail_rows(plain, detail_rows(plain)),
    )
    if detail_rows(plain):
        converter, rows = _streamed(plain, [raw])
        pd.testing.assert_frame_equal(
            frame_from_detail_rows(plain, rows, converted=converter.columns()),
            frame_from_detail_rows(plain, detail_rows(plain)),
        )


def test_cells_are_structs_the_collector_never_tracks() -> None:
    decoded = decode_run(_runs()[0])
    assert decoded is not None
    cell = decoded["factMap"]["T!T"].rows[0].dataCells[0]
    assert isinstance(cell, Cell) and not gc.is_tracked(cell)
    assert cell.get("label") == cell["label"] and "value" in cell and cell.get("nope") is None
    assert cell_value(cell) == cell_value({"label": cell.label, "value": cell.value})


def test_other_factmap_shapes_and_non_objects_decode_plainly() -> None:
    odd = _payload([_row(1)])
    odd["factMap"]["T!T"]["extra"] = 1
    decoded = decode_run(orjson.dumps(odd))
    assert decoded == odd  # an unknown key: the whole factMap as plain JSON
    assert decode_run(b"[1, 2]") is None and decode_run(b"not json") is None
    assert gc.isenabled()


@pytest.mark.parametrize("data_type", sorted(set(COLUMNS.values()) | {"double", "picklist"}))
def test_every_type_reads_structs_like_the_dtype_table(data_type: str) -> None:
    from sfnotebook.dtypes import read_cells

    rows = [r[: len(COLUMNS)] for r in (_row(i) for i in range(1, 30))]
    plain = [c for r in copy.deepcopy(rows) for c in r]
    structs = [Cell(label=c["label"], value=c["value"]) for c in plain]
    try:
        expected = read_cells(plain, data_type)
    except Exception as exc:  # the same refusal either way
        with pytest.raises(type(exc)):
            convert_cells(structs, data_type)
        return
    got = convert_cells(structs, data_type)
    assert got[0] == expected[0] and got[1].equals(expected[1])
