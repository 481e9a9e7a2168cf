"""Property: records_frame keeps every row and every column, and every value it was given."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfnotebook.soql._frames import FrameBuilder
from sfnotebook.soql.records import infer_layout, records_frame

NAMES = st.from_regex(r"[A-Z][a-z]{1,6}(__c)?", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
SCALARS: dict[str, Any] = {
    "string": TEXT,
    "int": st.integers(-(2**53), 2**53),
    "double": st.floats(allow_nan=False, allow_infinity=False, width=64),
    "boolean": st.booleans(),
    "date": st.dates().map(lambda d: d.isoformat()),
}


@st.composite
def payloads(draw: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Records with scalar columns and one parent relationship (sometimes null)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique_by=str.lower))
    kinds = {name: draw(st.sampled_from(sorted(SCALARS))) for name in names}
    parent_fields = draw(st.lists(NAMES, min_size=1, max_size=3, unique_by=str.lower))
    parent_kinds = {f"Parent.{n}": draw(st.sampled_from(sorted(SCALARS))) for n in parent_fields}
    n_rows = draw(st.integers(1, 30))
    records = []
    for i in range(n_rows):
        record: dict[str, Any] = {"attributes": {"type": "Thing", "url": f"/x/a{i}"}}
        for name, kind in kinds.items():
            record[name] = draw(st.none() | SCALARS[kind])
        if i == 0 or draw(st.booleans()):  # the first row's parent is never null
            record["Parent"] = {"attributes": {"type": "Other"}} | {
                col.split(".")[1]: draw(st.none() | SCALARS[kind])
                for col, kind in parent_kinds.items()
            }
        else:
            record["Parent"] = None
        records.append(record)
    return records, {**kinds, **parent_kinds}


def _same(value: Any, cell: Any, kind: str) -> bool:
    if value is None:
        return bool(pd.isna(cell))
    if kind == "date":
        return bool(cell == pd.Timestamp(value))
    if kind == "double":
        return float(cell) == float(value)
    return bool(cell == value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads())
def test_every_row_column_and_value_is_kept(
    payload: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    records, kinds = payload
    frame = records_frame(records, describe=kinds)
    assert len(frame) == len(records)
    assert list(frame.columns) == list(kinds)
    for i, record in enumerate(records):
        for column, kind in kinds.items():
            head, _, tail = column.partition(".")
            value = record[head] if not tail else (record["Parent"] or {}).get(tail)
            assert _same(value, frame[column].iloc[i], kind), (column, value)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads(), st.integers(1, 7))
def test_typed_pages_equal_one_dict_pass(
    payload: tuple[list[dict[str, Any]], dict[str, str]], page_size: int
) -> None:
    records, kinds = payload
    layout = infer_layout(records, types=kinds)
    whole = FrameBuilder(layout)
    whole.add(records)
    paged = FrameBuilder(layout)
    for start in range(0, len(records), page_size):
        body = {
            "totalSize": len(records),
            "done": True,
            "records": records[start : start + page_size],
        }
        paged.add(paged.decode(json.dumps(body).encode()).records)
    pd.testing.assert_frame_equal(paged.result(), whole.result())
