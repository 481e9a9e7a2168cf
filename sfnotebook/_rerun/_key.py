"""The cache key of one request: who asked, on which org and API version, for exactly what.

A key is a SHA-256 over a canonical JSON text of:

* the org Id, the user Id and the API version (the same SOQL means other rows for another user
  and may mean other types on another version);
* sfnotebook's version and the cache format (a release that types a column differently never
  reads an older release's frames);
* the verb's kind and every argument that shapes the result: the SOQL *after* binding
  ``params=`` (two spellings of one request share an entry), the report as asked for with its
  filters and options, ``dtypes=``, ``children=``, ``output=`` and the rest.

Arguments that only change *how* a result is fetched (progress bars, page sizes, concurrency,
polling) are left out. An argument this module does not know is part of the key: a new option
of a verb can only make entries more specific, never mix two results.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sfnotebook._version import __version__

__all__ = ["FORMAT", "HOW_NOT_WHAT", "canonical", "request_key"]

#: The layout of cache entries; entries of another layout are never read.
FORMAT = 2  # 2: the metadata kept holds user_id, and username only when it was known

#: Arguments of the verbs that change how a result is fetched, never what it holds.
HOW_NOT_WHAT = frozenset(
    {
        "conn",
        "params",  # bound into the SOQL first: the SOQL as sent is in the key
        "progress",
        "cache",
        "refresh",
        "batch_size",
        "large_result_rows",
        "concurrency",
        "max_records",
        "poll_interval",
        "compress",
        "overwrite",
        "to",
    }
)


def canonical(value: Any) -> Any:
    """``value`` as JSON-able data that two equal requests share and two different never do."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)  # 1.0 and 1 are different literals in SOQL and report filters
    if isinstance(value, Mapping):
        return sorted(([canonical(k), canonical(v)] for k, v in value.items()), key=repr)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=repr)
    if isinstance(value, dt.datetime | dt.date | dt.time | decimal.Decimal):
        return (
            f"{type(value).__name__}:{value.isoformat() if hasattr(value, 'isoformat') else value}"
        )
    # dtypes and other objects: their type and repr (pd.Int64Dtype() -> "Int64Dtype()").
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"


def request_key(
    *,
    kind: str,
    org_id: str,
    user_id: str,
    api_version: str,
    request: Mapping[str, Any],
) -> str:
    """The hex key of one request (64 characters)."""
    text = json.dumps(
        {
            "format": FORMAT,
            "sfnotebook": __version__,
            "kind": kind,
            "org": org_id,
            "user": user_id,
            "api": api_version,
            "request": canonical(dict(request)),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
