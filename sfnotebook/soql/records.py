"""SOQL records (as Salesforce's REST API returns them) -> typed DataFrames. Pure: no I/O.

The rules, shared by :func:`records_frame` and ``org.query``:

* columns in SELECT order (``columns=``, else the records' key order), ``attributes`` dropped;
* parent paths flattened with dots (``Account.Owner.Name``); a null parent gives nulls, of the
  right dtype, in every one of its columns;
* compound fields flattened (``BillingAddress.city``), ``TYPEOF`` fields flattened like parents
  (plus ``What.attributes.type``, the object type each row's branch came from);
* child subqueries become one tidy frame per relationship, keyed by the parent's Id, returned
  beside the parent frame in a :class:`QueryResult`;
* aggregates (``AggregateResult``) give a plain frame with their aliases (``expr0``) as columns;
* an empty result is a zero-row frame with the selected columns and their dtypes.

The conversion is column-oriented for speed: each page is walked once per column with a list
comprehension, each column becomes a compact Arrow chunk (see :mod:`sfnotebook.dtypes`), and the
frame is assembled once at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sfnotebook import _describe_paths as dp
from sfnotebook import _output
from sfnotebook import dtypes as _dt
from sfnotebook._api import Dtypes, Frame
from sfnotebook.soql._frames import Children, FrameBuilder, Layout, QueryResult, _key

__all__ = ["QueryResult", "infer_layout", "records_frame"]


def _is_child_result(value: Any) -> bool:
    return isinstance(value, dict) and "records" in value and "attributes" not in value


# --------------------------------------------------------------------------- layout inference


def infer_layout(
    records: Sequence[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    types: Mapping[str, str | None] | None = None,
    object_name: str | None = None,
) -> Layout:
    """Work out the flat columns and child relationships from the records themselves.

    Columns named in ``columns`` that hold parent or compound objects are expanded to their
    fields; with no ``columns`` the keys of the records are used, in order of first appearance.
    """
    if columns is None:
        names: dict[str, None] = {}
        for record in records:
            for key in record:
                if key != "attributes":
                    names.setdefault(key, None)
        columns = list(names)
    flat: list[str] = []
    found: dict[str, str | None] = {}
    children: dict[str, Layout] = {}
    for column in columns:
        if "." in column:
            flat.append(column)
            continue
        key = _key(records, column)
        values = [r.get(key) for r in records]
        if any(_is_child_result(v) for v in values):
            kids = [c for v in values if v for c in v.get("records") or ()]
            children[key] = infer_layout(kids)
        else:
            flat.extend(_expand(key, values, found))
    if object_name is None and records:
        object_name = (records[0].get("attributes") or {}).get("type")
    return Layout(tuple(flat), {**found, **(types or {})}, children, object_name)


def _expand(name: str, values: Sequence[Any], types: dict[str, str | None]) -> list[str]:
    """A column whose values are dicts (parent, compound, TYPEOF) -> its dotted leaf columns.

    Parts of compound fields get their known types into ``types``.
    """
    dicts = [v for v in values if isinstance(v, dict)]
    if not dicts:
        return [name]
    keys: dict[str, None] = {}
    for value in dicts:
        for key in value:
            if key != "attributes":
                keys.setdefault(key, None)
    is_compound = all("attributes" not in v for v in dicts)
    ordered = dp.order_parts(list(keys)) if is_compound else list(keys)
    out: list[str] = []
    if not is_compound:
        kinds = {(v.get("attributes") or {}).get("type") for v in dicts}
        shapes = {tuple(k for k in v if k != "attributes") for v in dicts}
        if len(kinds) > 1 or len(shapes) > 1:  # TYPEOF: say which branch each row took
            out.append(f"{name}.attributes.type")
    for key in ordered:
        if is_compound and key in _dt.COMPOUND_PARTS:
            types[f"{name}.{key}"] = _dt.COMPOUND_PARTS[key]
        out.extend(_expand(f"{name}.{key}", [v.get(key) for v in dicts], types))
    return out


# --------------------------------------------------------------------------- public converter


def _describe_lookup(
    describe: Any,
) -> tuple[Callable[[str], Any] | None, Mapping[str, str | None] | None, str | None]:
    """Normalise ``describe=``: (describe_of, column types, root object name)."""
    if describe is None:
        return None, None, None
    if callable(describe):
        return describe, None, None
    if isinstance(describe, Mapping) and "fields" in describe:  # one object describe
        name = describe.get("name")
        return (lambda obj: describe if str(obj).lower() == str(name).lower() else None), None, name
    if isinstance(describe, Mapping) and all(
        isinstance(v, str) or v is None for v in describe.values()
    ):
        return None, dict(describe), None
    by_name = {str(k).lower(): v for k, v in describe.items()}
    return (lambda obj: by_name.get(str(obj).lower())), None, None


def records_frame(
    records: Sequence[Mapping[str, object]],
    *,
    describe: Mapping[str, object] | None = None,
    columns: Sequence[str] | None = None,
    dtypes: Dtypes | None = None,
    children: Children = "frames",
    split_multipicklist: bool = False,
    output: _output.Output | None = None,
) -> Frame | QueryResult:
    """Convert SOQL records, as the REST API returns them, into a typed DataFrame.

    Parameters
    ----------
    records : list of dict
        The ``records`` of one or more query responses (``attributes`` included or not).
    describe : optional
        Where the types come from. Either a ``{column: salesforce_type}`` mapping
        (``{"Amount": "currency"}``), one object describe (``sf.Opportunity.describe()``), or
        ``{object_name: describe}`` for the root and parent objects. Without it, types are
        inferred from the JSON values (strings shaped like Salesforce dates/datetimes are
        parsed; an all-null column is text).
    columns : list of str, optional
        Columns in SELECT order, dotted for parents (``["Id", "Account.Owner.Name"]``). Needed
        to keep the columns of a parent that is null on every row, and of an empty result.
    dtypes : dict, optional
        ``{column: dtype}`` overrides; they win over the table in :mod:`sfnotebook.dtypes`.
    children : {"frames", "drop"}
        With child subqueries, ``"frames"`` returns a :class:`QueryResult` (parent frame plus
        one frame per relationship); ``"drop"`` returns the parent frame only.
    split_multipicklist : bool
        Return multi-select picklists as lists (``["A", "B"]``) instead of ``"A;B"``.
    output : {"pandas", "polars", "arrow"}, optional
        The library of the result (a converter has no connection: None means ``"pandas"``).

    Returns
    -------
    pandas.DataFrame or QueryResult
        (a polars DataFrame or ``pyarrow.Table`` with ``output="polars"`` / ``"arrow"``)

    Examples
    --------
    >>> import sfnotebook
    >>> recs = [{"attributes": {"type": "Contact"}, "Id": "003000000000001AAA",
    ...          "Account": {"attributes": {"type": "Account"}, "Name": "Acme"}},
    ...         {"attributes": {"type": "Contact"}, "Id": "003000000000002AAA", "Account": None}]
    >>> sfnotebook.records_frame(recs).dtypes.to_dict()  # doctest: +SKIP
    {'Id': string[pyarrow], 'Account.Name': string[pyarrow]}
    """
    records = list(records)
    describe_of, column_types, root = _describe_lookup(describe)
    layout = infer_layout(records, columns=columns)
    root = root or layout.object_name
    types: dict[str, str | None] = dict(layout.types)
    if column_types is not None:
        lowered = {k.lower(): v for k, v in column_types.items()}
        given = {c: lowered.get(c.lower()) for c in layout.columns}
        types.update({c: t for c, t in given.items() if t is not None})
    elif describe_of is not None:
        resolved = {c: dp.resolve_type(describe_of, root, c) for c in layout.columns}
        types.update({c: t for c, t in resolved.items() if t is not None})
    layout = Layout(layout.columns, types, layout.children, root)
    builder = FrameBuilder(layout, split_multipicklist=split_multipicklist)
    builder.add(records)
    return builder.result(dtypes=dtypes, children=children, output=_output.resolve(output))
