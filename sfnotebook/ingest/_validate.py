"""Every check a write gets before any job exists, against the object's describe.

The rules (each problem names the column and the rows at fault; all are reported at once):

* the object can be written this way (describe ``createable`` / ``updateable`` /
  ``deletable``);
* every column is a field of the object (matched without case, with close matches offered),
  or ``Relationship.Field`` where ``Field`` is an external-id or idLookup field of the one
  object the relationship points to (Bulk API's relationship columns, "Relationship Fields in
  a Header Row"); no field is named by two columns;
* each field can be written by the operation: ``createable`` on insert, ``updateable`` on
  update, both on upsert (a row may do either); the key (``Id``, the external id) is exempt;
* on insert, every required field (``nillable`` false, ``createable``, not
  ``defaultedOnCreate``) has a column and a value in every row; a required field is never set
  to null by any operation;
* the values fit their fields (:func:`sfnotebook.ingest._columns.to_text`);
* update and delete have an ``Id`` column of this object's Ids, each once; upsert's
  ``external_id`` is an ``externalId`` or ``idLookup`` field (``Id`` is one), present, set in
  every row and never given twice (compared without case, as Salesforce matches them);
* no row is over Bulk API's 400,000 characters per record.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sfnotebook._api import OrgApi
from sfnotebook.errors import IngestProblem, IngestValidationError, SfNotebookError
from sfnotebook.ingest._columns import Converted, to_text
from sfnotebook.ingest._input import Rows

__all__ = ["Column", "Prepared", "prepare"]

MAX_RECORD_CHARS = 400_000  # Bulk API 2.0 limits: "Maximum number of characters in a record"
_SHOWN_ROWS = 5
_NEEDS = {"insert": "createable", "update": "updateable", "delete": "deletable"}


@dataclass
class Column:
    """One column to send: the frame's name, the CSV header, the field and its CSV text."""

    source: str
    header: str
    field: dict[str, Any]
    text: list[str | None]


@dataclass
class Prepared:
    """What passed the checks: the object's name, the columns to send, the key column."""

    sobject: str
    operation: str
    columns: list[Column]
    key: str | None  # the CSV header rows are matched by (Id, the external id); None: all
    rows: Rows
    problems: list[IngestProblem] = field(default_factory=list)


class _Checker:
    def __init__(self, conn: OrgApi, rows: Rows, sobject: str, operation: str) -> None:
        self.conn = conn
        self.rows = rows
        self.operation = operation
        self.describe = conn.describe(sobject)
        self.name = str(self.describe.get("name") or sobject)
        self.fields = {str(f["name"]).lower(): f for f in self.describe["fields"]}
        self.problems: list[IngestProblem] = []

    def problem(self, column: str | None, reason: str, positions: list[int] | None = None) -> None:
        labels = tuple(self.rows.labels[i] for i in sorted(set(positions or ())))
        self.problems.append(IngestProblem(column, reason, labels))

    def convert(
        self, source: str, describe: dict[str, Any], prefixes: tuple[str, ...] = ()
    ) -> Converted:
        converted = to_text(self.rows.columns[source], describe, prefixes=prefixes)
        for reason, positions in converted.bad.items():
            self.problem(source, reason, positions)
        return converted

    def prefixes(self, describe: dict[str, Any]) -> tuple[str, ...]:
        """Key prefixes of the objects a reference points to (empty when one is unknown)."""
        found = []
        for target in describe.get("referenceTo") or []:
            try:
                prefix = self.conn.describe(str(target)).get("keyPrefix")
            except SfNotebookError:
                return ()
            if not isinstance(prefix, str):
                return ()
            found.append(prefix)
        return tuple(found)


def prepare(
    conn: OrgApi,
    rows: Rows,
    sobject: str,
    operation: str,
    *,
    external_id: str | None = None,
    skip_nulls: bool = False,
) -> Prepared:
    """The columns to send, or :class:`IngestValidationError` listing every problem."""
    check = _Checker(conn, rows, sobject, operation)
    _object_access(check)
    for name in rows.duplicates:
        check.problem(name, "two columns carry this name: keep one")
    for name, why in rows.unreadable.items():
        check.problem(name, f"its values are not of one type ({why}): convert the column first")
    columns = _delete_columns(check) if operation == "delete" else _columns(check, external_id)
    key = _key(check, columns, external_id)
    if operation == "insert":
        _required(check, columns, skip_nulls)
    elif not skip_nulls:
        _not_nulled(check, columns)
    _record_size(check, columns)
    prepared = Prepared(check.name, operation, columns, key, rows, check.problems)
    if check.problems:
        raise IngestValidationError(_message(prepared), problems=check.problems)
    return prepared


def _object_access(check: _Checker) -> None:
    wanted = (
        ["createable", "updateable"] if check.operation == "upsert" else [_NEEDS[check.operation]]
    )
    for flag in wanted:
        if check.describe.get(flag) is False:
            check.problem(
                None,
                f"{check.name} is not {flag} for this user: nothing can be {check.operation}ed",
            )


def _delete_columns(check: _Checker) -> list[Column]:
    """Delete sends the Id column alone (the frame's other columns are not sent)."""
    source = next((n for n in check.rows.columns if n.lower() == "id"), None)
    if source is None:
        check.problem("Id", "delete needs an Id column of the records to delete")
        return []
    describe = check.fields["id"]
    prefix = check.describe.get("keyPrefix")
    converted = check.convert(source, describe, (prefix,) if isinstance(prefix, str) else ())
    return [Column(source, "Id", describe, converted.text)]


def _columns(check: _Checker, external_id: str | None) -> list[Column]:
    columns: list[Column] = []
    seen: dict[str, str] = {}
    for source in check.rows.columns:
        found = _resolve(check, source)
        if found is None:
            continue
        header, written, describe, prefixes = found
        if header.lower() in seen:
            check.problem(
                source, f"names the same field as column {seen[header.lower()]!r}: keep one"
            )
            continue
        seen[header.lower()] = source
        key = header.lower() == "id" or (
            external_id is not None and header.lower() == external_id.lower()
        )
        if not key:
            _field_access(check, source, written)
        elif header.lower() == "id" and check.operation == "insert":
            check.problem(source, "an insert creates new records: drop the Id column (or update)")
        columns.append(
            Column(source, header, describe, check.convert(source, describe, prefixes).text)
        )
    return columns


def _resolve(
    check: _Checker, source: str
) -> tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]] | None:
    """``(CSV header, field written, field whose values these are, Id prefixes)``, or None."""
    if "." in source:
        return _relationship(check, source)
    describe = check.fields.get(source.lower())
    if describe is None:
        close = difflib.get_close_matches(
            source, [str(f["name"]) for f in check.fields.values()], n=3
        )
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        check.problem(source, f"{check.name} has no field {source!r}{hint}")
        return None
    prefixes = check.prefixes(describe) if describe.get("type") == "reference" else ()
    if describe.get("type") == "id":
        prefix = check.describe.get("keyPrefix")
        prefixes = (prefix,) if isinstance(prefix, str) else ()
    return str(describe["name"]), describe, describe, prefixes


def _relationship(
    check: _Checker, source: str
) -> tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]] | None:
    relation, _, parent_field = source.partition(".")
    reference = next(
        (
            f
            for f in check.fields.values()
            if str(f.get("relationshipName") or "").lower() == relation.lower()
        ),
        None,
    )
    if reference is None:
        check.problem(source, f"{check.name} has no relationship {relation!r}")
        return None
    targets = reference.get("referenceTo") or []
    if len(targets) != 1:
        check.problem(
            source,
            f"{relation} points to several objects ({', '.join(targets)}): use {reference['name']} with record Ids",
        )
        return None
    parent = check.conn.describe(str(targets[0]))
    match = next(
        (f for f in parent["fields"] if str(f["name"]).lower() == parent_field.lower()), None
    )
    if match is None or not (match.get("externalId") or match.get("idLookup")):
        what = "has no field" if match is None else "cannot match records by"
        check.problem(
            source,
            f"{targets[0]} {what} {parent_field!r}: use an External ID (or idLookup) field of {targets[0]}",
        )
        return None
    return f"{reference['relationshipName']}.{match['name']}", reference, match, ()


def _field_access(check: _Checker, source: str, describe: dict[str, Any]) -> None:
    needs = (
        ["createable", "updateable"] if check.operation == "upsert" else [_NEEDS[check.operation]]
    )
    missing = [flag for flag in needs if not describe.get(flag)]
    if missing:
        check.problem(source, f"{describe['name']} is not {' and '.join(missing)}: drop the column")


def _key(check: _Checker, columns: list[Column], external_id: str | None) -> str | None:
    if check.operation in ("update", "delete"):
        return _unique_key(check, columns, "Id", "the Id column of the records to change")
    if check.operation != "upsert":
        return None
    assert external_id is not None  # noqa: S101 - the verb requires it
    describe = check.fields.get(external_id.lower())
    if describe is None or not (describe.get("externalId") or describe.get("idLookup")):
        what = "has no field" if describe is None else "cannot match records by"
        check.problem(
            external_id,
            f"{check.name} {what} {external_id!r}: external_id must be an External ID field (or Id)",
        )
        return None
    return _unique_key(
        check, columns, str(describe["name"]), f"a column {describe['name']} to match records by"
    )


def _unique_key(check: _Checker, columns: list[Column], name: str, what: str) -> str | None:
    column = next((c for c in columns if c.header.lower() == name.lower()), None)
    if column is None:
        check.problem(name, f"{check.operation} needs {what}")
        return None
    missing = [i for i, v in enumerate(column.text) if v is None]
    if missing:
        check.problem(
            column.source, f"{name} is missing in these rows: each row needs one", missing
        )
    counts = Counter(v.lower() for v in column.text if v is not None)
    twice = [i for i, v in enumerate(column.text) if v is not None and counts[v.lower()] > 1]
    if twice:
        check.problem(
            column.source, f"the same {name} is given in several rows: give each record once", twice
        )
    return column.header


def _required(check: _Checker, columns: list[Column], skip_nulls: bool) -> None:
    by_field = {c.header.lower(): c for c in columns}
    for describe in check.fields.values():
        if (
            describe.get("nillable", True)
            or not describe.get("createable")
            or describe.get("defaultedOnCreate")
        ):
            continue
        name = str(describe["name"])
        column = by_field.get(name.lower())
        if column is None:
            check.problem(name, f"required on insert: add a column {name}")
            continue
        missing = [i for i, v in enumerate(column.text) if v is None]
        if missing:
            check.problem(column.source, f"{name} is required: these rows have no value", missing)


def _not_nulled(check: _Checker, columns: list[Column]) -> None:
    for column in columns:
        if column.field.get("nillable", True) or "." in column.header:
            continue
        missing = [i for i, v in enumerate(column.text) if v is None]
        if missing and column.header.lower() != "id":
            check.problem(
                column.source, f"{column.header} is required: it cannot be set to null", missing
            )


def _record_size(check: _Checker, columns: list[Column]) -> None:
    if not columns:
        return
    sizes = np.zeros(check.rows.count, dtype=np.int64)
    for column in columns:
        sizes += np.fromiter(
            (len(v) if v else 0 for v in column.text), dtype=np.int64, count=check.rows.count
        )
    big = np.flatnonzero(sizes > MAX_RECORD_CHARS).tolist()
    if big:
        check.problem(None, f"rows over Bulk API's {MAX_RECORD_CHARS:,} characters per record", big)


def _message(prepared: Prepared) -> str:
    lines = [
        f"Cannot {prepared.operation} these rows into {prepared.sobject}: "
        f"{len(prepared.problems)} problem{'s' if len(prepared.problems) != 1 else ''}; "
        "nothing was sent (no job was created)."
    ]
    for p in prepared.problems:
        where = f"column {p.column!r}" if p.column is not None else "the frame"
        rows = ""
        if p.rows:
            shown = ", ".join(repr(r) for r in p.rows[:_SHOWN_ROWS])
            more = f" and {len(p.rows) - _SHOWN_ROWS:,} more" if len(p.rows) > _SHOWN_ROWS else ""
            rows = f" (rows {shown}{more})"
        lines.append(f"  - {where}: {p.reason}{rows}")
    lines.append("Every problem is in .problems (and .table(): one row per problem and row).")
    return "\n".join(lines)
