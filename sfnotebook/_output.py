"""The one output seam: typed Arrow columns -> a pandas DataFrame, a polars DataFrame or a
``pyarrow.Table``. Pure: no I/O.

Every pipeline (SOQL pages, report runs, bulk pages) builds Arrow chunks per column with the
rows of the dtype table (:mod:`sfnotebook.dtypes`) and hands them here as :class:`Column`\\ s:

* ``"pandas"`` (the default): each column becomes the row's pandas dtype, by the fastest
  correct construction for it (masked arrays straight from Arrow's values and validity,
  ``string[pyarrow]`` wrapping the Arrow text without a copy);
* ``"arrow"``: a ``pyarrow.Table`` with the rows' Arrow types (the types Parquet files get);
* ``"polars"``: ``polars.from_arrow`` of that table; polars is imported only then, and a
  missing polars raises :class:`~sfnotebook.errors.OutputLibraryMissingError`.

The same columns, in the same order, with the same names, come out of all three. Group levels
(report aggregates) become the pandas index, and leading columns elsewhere.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from sfnotebook.dtypes import FieldType
from sfnotebook.dtypes import pandas_dtype_named as pandas_dtype
from sfnotebook.errors import OutputLibraryMissingError
from sfnotebook.export import register_accessor

__all__ = [
    "OUTPUTS",
    "Column",
    "Output",
    "apply_overrides",
    "check_dtype_values",
    "pandas_column",
    "pandas_dtype",
    "resolve",
    "table",
]

#: The libraries a result can come out in.
Output = Literal["pandas", "polars", "arrow"]
OUTPUTS: tuple[Output, ...] = ("pandas", "polars", "arrow")

# Text columns stay chunked (one chunk per page) in pandas: joining the chunks would copy
# every text column at the moment memory peaks (measurements-2026-12.md §2: keeping them and
# releasing each column's chunks once converted cut org.query's peak by 30% at 300k rows).
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INT64_MAX = 2**63 - 1


@dataclass
class Column:
    """One output column: its name, its row of the dtype table, its typed chunks."""

    name: str
    row: FieldType
    chunks: list[Any]


def resolve(output: Output | None, conn: Any = None) -> Output:
    """The output to use: ``output``, else the connection's ``output``, else ``"pandas"``."""
    if output is None:
        output = getattr(conn, "output", None) or "pandas"
    if output not in OUTPUTS:
        raise ValueError(f'output must be "pandas", "polars" or "arrow", not {output!r}.')
    if output == "polars" and importlib.util.find_spec("polars") is None:
        raise _missing("polars")  # before any download, not after
    return output


def _missing(library: str) -> OutputLibraryMissingError:
    return OutputLibraryMissingError(
        f'output="{library}" needs {library}, which is not installed: '
        f'pip install "sfnotebook[{library}]" (or pip install {library}), or choose '
        'output="pandas" or "arrow".',
        library=library,
    )


def table(
    columns: Iterable[Column],
    *,
    rows: int,
    output: Output,
    dtypes: Mapping[str, Any] | None = None,
    split_multipicklist: bool = False,
    index: Sequence[Column] = (),
    index_fill: Any = None,
) -> Any:
    """Build the result table in ``output``'s library; ``dtypes=`` overrides are applied last.

    ``columns`` may be a generator: each column's chunks are released once converted.
    ``index`` columns are group levels: the pandas index (a ``MultiIndex`` for several; without
    any, ``index_fill`` on every row if given), leading columns in polars and Arrow.
    """
    if output == "pandas":
        return _pandas(columns, rows, dtypes, split_multipicklist, index, index_fill)
    arrays: list[Any] = []
    names: list[str] = []
    for column in (*index, *columns):
        names.append(column.name)
        arrays.append(arrow_column(column.row, column.chunks, split_multipicklist))
        column.chunks = []
    result = pa.Table.from_arrays(arrays, names=names) if names else pa.table({})
    if output == "arrow":
        return apply_overrides(result, dtypes, "arrow")
    return _polars(result, dtypes)


# --------------------------------------------------------------------------- pandas


def _pandas(
    columns: Iterable[Column],
    rows: int,
    dtypes: Mapping[str, Any] | None,
    split: bool,
    index: Sequence[Column],
    index_fill: Any,
) -> Any:
    import pandas as pd

    data: dict[str, Any] = {}
    pool = pa.default_memory_pool()
    for column in columns:
        data[column.name] = pandas_column(column.row, column.chunks, split_multipicklist=split)
        column.chunks = []  # released: the peak is the typed data plus one column
        pool.release_unused()  # hand the released chunks' pages back before the next column
    frame = pd.DataFrame(data, index=_pandas_index(index, rows, index_fill), copy=False)
    return apply_overrides(frame, dtypes, "pandas")


def _pandas_index(index: Sequence[Column], rows: int, fill: Any) -> Any:
    import pandas as pd

    levels = [[v for chunk in c.chunks for v in _values(chunk)] for c in index]
    if len(levels) > 1:
        return pd.MultiIndex.from_tuples(
            list(zip(*levels, strict=True)), names=[c.name for c in index]
        )
    if levels:
        return pd.Index(levels[0], name=index[0].name, dtype=object)
    if fill is not None:
        return pd.Index([fill] * rows, dtype=object)
    return pd.RangeIndex(rows)


def _values(chunk: Any) -> list[Any]:
    return chunk.to_pylist() if isinstance(chunk, pa.Array | pa.ChunkedArray) else list(chunk)


def _objects(values: list[Any]) -> Any:
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def pandas_column(row: FieldType, chunks: list[Any], *, split_multipicklist: bool = False) -> Any:
    """One column's chunks -> the pandas array of ``row``'s dtype."""
    import pandas as pd

    if row.objects:
        return _objects([v for chunk in chunks for v in _values(chunk)])
    text = pa.chunked_array(chunks, type=_chunk_type(row, chunks))
    if split_multipicklist and row.splits:
        return _objects(pc.split_pattern(text, ";").to_pylist())
    dtype = row.pandas_dtype
    if isinstance(dtype, pd.StringDtype):
        return pd.array(text, dtype=dtype)
    if isinstance(dtype, pd.core.dtypes.dtypes.BaseMaskedDtype):
        # values + mask straight from Arrow: exact for 64-bit integers (no float round trip).
        # From the chunks directly: one numpy copy of the values, not a joined Arrow copy too.
        mask = text.is_null().to_numpy(zero_copy_only=False)
        zero: Any = False if pa.types.is_boolean(text.type) else 0
        values = text.fill_null(zero).to_numpy(zero_copy_only=False)
        if not values.flags.writeable:  # a view of one Arrow buffer: pandas needs its own
            values = values.copy()
        return dtype.construct_array_type()(values.astype(dtype.numpy_dtype, copy=False), mask)
    arr = text.combine_chunks()
    series = arr.to_pandas(date_as_object=False).array
    if pa.types.is_timestamp(arr.type) and not _fits(arr, getattr(dtype, "unit", "ns")):
        return series  # nanoseconds end in 2262: a column reaching past that keeps its unit
    return series.astype(dtype)


def _chunk_type(row: FieldType, chunks: list[Any]) -> pa.DataType:
    """The Arrow type of a column's chunks: the row's, or ``large_string`` for text a pipeline
    already stored as pandas stores it (:class:`sfnotebook.bulk._frame.FrameAssembler`)."""
    first = chunks[0] if chunks else None
    if row.arrow == pa.string() and getattr(first, "type", None) == pa.large_string():
        return pa.large_string()
    return row.arrow


def _fits(arr: pa.Array, unit: str) -> bool:
    factor = _NS_PER[arr.type.unit] // _NS_PER[unit]
    if factor <= 1:
        return True
    limit = _INT64_MAX // factor
    lo, hi = pc.min_max(pc.cast(arr, pa.int64())).values()
    return all(x.as_py() is None or abs(x.as_py()) <= limit for x in (lo, hi))


# --------------------------------------------------------------------------- Arrow, polars


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str)  # true/false, numbers, objects as JSON text


def arrow_column(row: FieldType, chunks: list[Any], split_multipicklist: bool) -> Any:
    """One column's chunks -> an Arrow (chunked) array of ``row``'s Arrow type."""
    if row.objects:  # anyType: Arrow has no object type, so its text
        values = [_text(v) for chunk in chunks for v in _values(chunk)]
        return pa.array(values, type=pa.string())
    arr = pa.chunked_array(chunks, type=row.arrow)
    if split_multipicklist and row.splits:
        return pc.split_pattern(arr, ";")
    return arr


def _polars(result: pa.Table, dtypes: Mapping[str, Any] | None) -> Any:
    try:
        import polars as pl
    except ImportError as exc:
        raise _missing("polars") from exc
    theirs = {k: d for k, d in (dtypes or {}).items() if _is_polars_type(d, pl)}
    ours = {k: d for k, d in (dtypes or {}).items() if k not in theirs}
    _check_names(list(dtypes or {}), result.column_names)
    frame = pl.from_arrow(apply_overrides(result, ours, "arrow"))
    return frame.cast(theirs) if theirs else frame  # type: ignore[union-attr, arg-type]


def _is_polars_type(dtype: Any, pl: Any) -> bool:
    return isinstance(dtype, pl.DataType) or (
        isinstance(dtype, type) and issubclass(dtype, pl.DataType)
    )


# --------------------------------------------------------------------------- overrides


def check_dtype_values(dtypes: Mapping[str, Any] | None, output: Output) -> None:
    """Every ``dtypes=`` value is a type of ``output``'s library: checked before any request,
    so a misspelt dtype never fails after the rows (or a Bulk job) are in."""
    if not dtypes or not isinstance(dtypes, Mapping):
        return
    for column, dtype in dtypes.items():
        try:
            _resolve_dtype(dtype, output)
        except (TypeError, ValueError, ImportError):
            library = {"pandas": "pandas", "arrow": "pyarrow", "polars": "polars or pyarrow"}
            raise TypeError(
                f"dtypes={{{column!r}: {dtype!r}}}: {dtype!r} is not a {library[output]} dtype "
                'for output="' + output + '" (e.g. "string", "Int64", "float64", "category" '
                'for pandas; pa.string() or "float64" for arrow).'
            ) from None


def _resolve_dtype(dtype: Any, output: Output) -> None:
    if output == "pandas":
        import pandas as pd

        pd.api.types.pandas_dtype(dtype)
        return
    if output == "polars":
        import polars as pl

        if _is_polars_type(dtype, pl):
            return
    _arrow_type(dtype)


def _check_names(wanted: Sequence[str], columns: Sequence[Any]) -> None:
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise KeyError(
            f"dtypes= names columns that the result does not have: {missing}; "
            f"columns are {list(columns)}"
        )


def _arrow_type(dtype: Any) -> pa.DataType:
    """An Arrow type from an Arrow type, an alias (``"float64"``) or a pandas/numpy dtype."""
    if isinstance(dtype, pa.DataType):
        return dtype
    if isinstance(dtype, str):
        try:
            return pa.type_for_alias(dtype)
        except ValueError:
            pass
    import numpy as np
    import pandas as pd

    resolved = pd.api.types.pandas_dtype(dtype)
    if isinstance(resolved, pd.StringDtype):
        return pa.string()
    if isinstance(resolved, pd.ArrowDtype):
        return resolved.pyarrow_dtype
    return pa.from_numpy_dtype(np.dtype(getattr(resolved, "numpy_dtype", resolved)))


def apply_overrides(result: Any, dtypes: Mapping[str, Any] | None, output: Output) -> Any:
    """The caller's ``dtypes=`` (column -> dtype) applied to a pandas frame or an Arrow table.

    They win over the table. A column named in ``dtypes`` but absent raises ``KeyError``, so a
    typo does not pass silently. For Arrow, a dtype is an Arrow type, an alias such as
    ``"float64"``, or a pandas/numpy dtype (its Arrow equivalent).
    """
    if not dtypes:
        return result
    if output == "pandas":
        _check_names(list(dtypes), list(result.columns))
        return result.astype(dict(dtypes))
    _check_names(list(dtypes), result.column_names)
    for name, dtype in dtypes.items():
        at = result.column_names.index(name)
        result = result.set_column(at, name, result.column(at).cast(_arrow_type(dtype)))
    return result


# Every frame is born here, so this is where ``df.sf`` (sfnotebook.export's accessor) gets
# registered: with pandas, which this module loads anyway, never by ``import sfnotebook``.
register_accessor()
