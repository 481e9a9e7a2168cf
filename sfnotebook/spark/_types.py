"""The dtype table's Arrow types as Spark types, and typed pages as Spark's Arrow batches. Pure.

The Spark types are those Spark gives when it reads the Parquet folder ``extract(to=)`` writes
(the README's Parquet table), so both routes into Spark agree:

============================  ==================  ======================================
dtype table (Arrow)           Spark               note
============================  ==================  ======================================
``string``                    ``StringType``      ids, text, picklists, ``anyType``
``bool``                      ``BooleanType``
``int64``                     ``LongType``
``double``                    ``DoubleType``      double, currency, percent
``date32``                    ``DateType``
``timestamp[ms, UTC]``        ``TimestampType``   microseconds in Spark (exact)
``duration[ms]``              ``LongType``        times: milliseconds since midnight
============================  ==================  ======================================

Spark checks every batch a Python data source yields against the Arrow form of its schema
(``to_arrow_schema(schema, timezone="UTC")``), so :func:`to_spark` casts to exactly that.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sfnotebook.bulk._csv import PageSchema

__all__ = ["spark_arrow_schema", "spark_schema", "to_spark"]


def _spark_type(arrow: pa.DataType) -> Any:
    from pyspark.sql import types as T

    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return T.StringType()
    if pa.types.is_boolean(arrow):
        return T.BooleanType()
    if pa.types.is_integer(arrow) or pa.types.is_duration(arrow):
        return T.LongType()
    if pa.types.is_floating(arrow):
        return T.DoubleType()
    if pa.types.is_date(arrow):
        return T.DateType()
    if pa.types.is_timestamp(arrow):
        return T.TimestampType()
    raise TypeError(f"no Spark type for the Arrow type {arrow} (add it to sfnotebook.spark._types)")


def spark_schema(schema: PageSchema) -> Any:
    """The ``StructType`` of a read: one nullable field per column, named as ``extract`` names."""
    from pyspark.sql import types as T

    return T.StructType(
        [T.StructField(f.name, _spark_type(f.type), True) for f in schema.arrow_schema()]
    )


def spark_arrow_schema(schema: PageSchema) -> pa.Schema:
    """The Arrow schema Spark expects of the batches (its own conversion of the StructType)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    converted: pa.Schema = to_arrow_schema(spark_schema(schema), timezone="UTC")
    return converted


def to_spark(table: pa.Table, target: pa.Schema) -> pa.Table:
    """A typed page (dtype table types) cast to Spark's Arrow types: times become milliseconds."""
    columns = []
    for column, field in zip(table.columns, target, strict=True):
        if pa.types.is_duration(column.type):
            column = column.cast(pa.int64())  # a duration's value is its count of units (ms)
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=target)
