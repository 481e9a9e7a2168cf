"""One result frame <-> Parquet bytes, checked to come back exactly as it went in.

pandas frames go through ``pyarrow.Table.from_pandas``, whose pandas metadata brings the
nullable dtypes back (``Int64``, ``Float64``, ``boolean``, ``string[pyarrow]``, tz-aware
datetimes, timedeltas, a MultiIndex of aggregates). Parquet has no seconds-resolution timestamp,
so ``datetime64[s]`` dates return as milliseconds: each column's dtype is recorded and restored.
Multi-select picklists split into lists return as arrays: they are made lists again.

Whatever the library, :func:`encode` reads its own bytes back and compares them with the frame
(columns, dtypes, index, values, and the Python type of every value in object columns). A frame
that does not come back the same is not cached (:class:`NotCacheable`): a rerun then fetches
again rather than show something subtly different.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a frame is kept or read: importing sfnotebook.soql stays
    import pyarrow as pa  # light, so a query's page 1 goes out before pyarrow loads (issue 13)

__all__ = ["NotCacheable", "decode", "encode"]


class NotCacheable(Exception):
    """This frame cannot be kept exactly (the reason is the message); it is fetched again."""


def _library(frame: Any) -> str:
    import pyarrow as pa

    module = type(frame).__module__
    if isinstance(frame, pa.Table):
        return "arrow"
    if module.startswith("polars"):
        return "polars"
    if module.startswith("pandas"):
        return "pandas"
    raise NotCacheable(f"a {type(frame).__name__} is not a frame the cache keeps")


# Python values an object column may hold and get back as they are (anyType values, Decimals,
# dates; lists of text are multi-select picklists split with split_multipicklist=True). A dict
# would come back with its numbers turned to floats: such a column is not kept.
_PLAIN = frozenset(
    {str, bool, int, float, decimal.Decimal, dt.date, dt.datetime, dt.time, bytes, list}
)


def encode(frame: Any) -> tuple[bytes, dict[str, Any]]:
    """Parquet bytes of ``frame`` and what :func:`decode` needs to rebuild it exactly."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    library = _library(frame)
    meta: dict[str, Any] = {"library": library}
    try:
        if library == "pandas":
            table, meta = _pandas_table(frame, meta)
        elif library == "polars":
            table = frame.to_arrow()
        else:
            table = frame
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise NotCacheable(f"Parquet cannot hold it ({type(exc).__name__}: {exc})") from None
    data = sink.getvalue()
    back = decode(data, meta)
    _check_same(frame, back, library)
    return data, meta


def decode(data: bytes, meta: dict[str, Any]) -> Any:
    """The frame :func:`encode` turned into ``data``."""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    library = meta.get("library")
    if library == "arrow":
        return table
    if library == "polars":
        import polars as pl

        return pl.from_arrow(table)
    frame = table.to_pandas()
    frame.attrs.clear()
    frame.attrs.update(json.loads(meta.get("attrs") or "{}"))
    for column, dtype in (meta.get("dtypes") or {}).items():
        if column not in frame.columns:
            continue
        if str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
        if dtype == "object":  # pyarrow reads a missing text as NaN; sfnotebook's is None
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in meta.get("lists") or ():
        frame[column] = frame[column].map(_as_list, na_action="ignore").astype(object)
    levels = meta.get("index_dtypes") or []
    if levels and [str(d) for d in _index_dtypes(frame.index)] != levels:
        frame.index = _index_as(frame.index, levels)
    return frame


def _index_as(index: Any, dtypes: list[str]) -> Any:
    """``index`` with each level of the recorded dtype (pyarrow reads object text as str)."""
    if getattr(index, "nlevels", 1) > 1:
        return index.set_levels(
            [level.astype(dtype) for level, dtype in zip(index.levels, dtypes, strict=True)]
        )
    return index.astype(dtypes[0])


def _as_list(value: Any) -> Any:
    return list(value) if hasattr(value, "tolist") or isinstance(value, tuple) else value


def _pandas_table(frame: Any, meta: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    import pyarrow as pa

    if not frame.columns.is_unique:
        raise NotCacheable("its column names are not unique")
    attrs = {k: v for k, v in frame.attrs.items() if k != "sfnotebook"}
    try:
        meta["attrs"] = json.dumps(attrs)
    except (TypeError, ValueError):
        raise NotCacheable("its attrs are not plain data") from None
    names = [str(c) for c in frame.columns]
    if names != list(frame.columns):
        raise NotCacheable("its column names are not all text")
    meta["dtypes"] = {c: str(frame[c].dtype) for c in names}
    meta["index_dtypes"] = [str(d) for d in _index_dtypes(frame.index)]
    meta["lists"] = []
    for c in names:
        if frame[c].dtype == object:
            kinds = {type(v) for v in frame[c].dropna()}
            if kinds - _PLAIN:
                shown = sorted(k.__name__ for k in kinds - _PLAIN)
                raise NotCacheable(f"column {c!r} holds {', '.join(shown)} objects")
            if list in kinds:
                if not all(isinstance(x, str) for v in frame[c].dropna() for x in v):
                    raise NotCacheable(f"column {c!r} holds lists of other things than text")
                meta["lists"].append(c)
    bare = frame.copy(deep=False)
    bare.attrs = {}  # kept as JSON above; pyarrow would otherwise copy them into its metadata
    return pa.Table.from_pandas(bare), meta


def _check_same(frame: Any, back: Any, library: str) -> None:
    if library == "arrow":
        same = frame.schema.remove_metadata() == back.schema.remove_metadata() and frame.equals(
            back
        )
    elif library == "polars":
        same = frame.schema == back.schema and frame.equals(back)
    else:
        same = _same_pandas(frame, back)
    if not same:
        raise NotCacheable("it does not come back from Parquet exactly as it is")


def _same_pandas(frame: Any, back: Any) -> bool:
    if list(frame.columns) != list(back.columns) or list(frame.dtypes) != list(back.dtypes):
        return False
    if not frame.index.equals(back.index) or type(frame.index) is not type(back.index):
        return False
    if [str(d) for d in _index_dtypes(frame.index)] != [str(d) for d in _index_dtypes(back.index)]:
        return False
    if frame.index.names != back.index.names:
        return False
    if not frame.equals(back):
        return False
    for column in frame.columns:
        if frame[column].dtype == object:
            left = [type(v) for v in frame[column]]
            right = [type(v) for v in back[column]]
            if left != right:
                return False
    return True


def _index_dtypes(index: Any) -> list[Any]:
    dtypes = getattr(index, "dtypes", None)
    return list(dtypes) if dtypes is not None and not isinstance(dtypes, str) else [index.dtype]
