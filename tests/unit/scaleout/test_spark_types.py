"""The dtype table's Arrow types as Spark types, one row each (sfnotebook/spark/_types.py)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from sfnotebook import dtypes
from sfnotebook.bulk._csv import PageSchema

pytestmark = pytest.mark.spark

T = pytest.importorskip("pyspark.sql.types")
types = pytest.importorskip("sfnotebook.spark._types")

# What Spark reads from the Parquet files extract(to=) writes, per the README's table.
SPARK = {
    "id": T.StringType(),
    "string": T.StringType(),
    "multipicklist": T.StringType(),
    "boolean": T.BooleanType(),
    "int": T.LongType(),
    "long": T.LongType(),
    "double": T.DoubleType(),
    "currency": T.DoubleType(),
    "percent": T.DoubleType(),
    "date": T.DateType(),
    "datetime": T.TimestampType(),
    "time": T.LongType(),
    "anyType": T.StringType(),
}


@pytest.mark.parametrize("sf_type", sorted(dtypes.TYPES))
def test_every_row_of_the_dtype_table_has_a_spark_type(sf_type: str) -> None:
    schema = types.spark_schema(PageSchema(("c",), ("c",), (sf_type,)))
    if sf_type in SPARK:
        assert schema["c"].dataType == SPARK[sf_type]
    assert schema["c"].nullable


def test_pages_become_the_batches_spark_checks_for() -> None:
    schema = PageSchema(("When", "At", "On"), ("When", "At", "On"), ("time", "datetime", "date"))
    page = pa.table(
        {
            "When": pa.array([dt.timedelta(hours=13, minutes=30), None], pa.duration("ms")),
            "At": pa.array(
                [dt.datetime(2026, 1, 5, 3, 41, 5, tzinfo=dt.UTC), None],
                pa.timestamp("ms", tz="UTC"),
            ),
            "On": pa.array([dt.date(4000, 12, 31), None], pa.date32()),
        }
    )
    target = types.spark_arrow_schema(schema)
    out = types.to_spark(page, target)
    assert out.schema.equals(target)
    assert out.column("When").to_pylist() == [48_600_000, None]  # ms since midnight
    assert out.column("At").type == pa.timestamp("us", tz="UTC")
    assert out.column("At").to_pylist()[0] == dt.datetime(2026, 1, 5, 3, 41, 5, tzinfo=dt.UTC)
    assert out.column("On").to_pylist() == [dt.date(4000, 12, 31), None]


def test_the_expected_table_names_real_rows() -> None:
    assert set(SPARK) <= set(dtypes.TYPES)
