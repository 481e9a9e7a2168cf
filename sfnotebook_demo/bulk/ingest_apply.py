"""Applying one ingest row to the demo org's data, with the checks Salesforce makes first.

Each row succeeds whole or fails whole with a :class:`~sfnotebook_demo.bulk.ingest_values.RowError`
(nothing of a failed row is written). What is checked, in Salesforce's order of concern:

* field access: a value for a field that is not createable (insert) or not updateable
  (update) is ``INVALID_FIELD_FOR_INSERT_UPDATE``; an ``Id`` on insert likewise;
* values: type, length, restricted picklists (:func:`~sfnotebook_demo.bulk.ingest_values.parse_cell`);
* required fields (not nillable, createable, not defaulted on create) missing on insert or set
  to ``#N/A``: ``REQUIRED_FIELD_MISSING``;
* references: the target's key prefix (``MALFORMED_ID``), that it exists
  (``INVALID_CROSS_REFERENCE_KEY``) and is not deleted (``ENTITY_IS_DELETED``);
* unique fields (``DUPLICATE_VALUE ... duplicates value on record with id: ...``), compared
  case-insensitively as Salesforce compares unique text;
* the same record twice in one job: ``DUPLICATE_VALUE`` ("Duplicate id in list", "Duplicate
  external id specified").

Writes keep the org consistent: audit fields (``LastModifiedDate``, ``SystemModstamp``, the
Run As user), the compound ``Name`` of contacts and users, the fields Salesforce derives
(opportunity stage, forecast and fiscal fields, case numbers and closed flags, task flags),
and soft deletes that cascade to children as the schema's ``cascadeDelete`` says.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sfnotebook_demo.bulk.ingest_values import NULL, RowError, parse_cell
from sfnotebook_demo.data.model import Field, SObject
from sfnotebook_demo.data.schema import SCHEMA, STAGES, get_sobject
from sfnotebook_demo.ids import restore_case, to_18

__all__ = ["Applier", "HeaderError", "resolve_header"]

_AUDIT = ("LastModifiedDate", "LastModifiedById", "SystemModstamp")
_SKIP = object()  # an empty cell: the field is left as it is


class HeaderError(ValueError):
    """The CSV header cannot be processed: the job fails with this ``errorMessage``."""


def resolve_header(obj: SObject, header: list[str]) -> list[Field]:
    """The field of each header column (case-insensitive), or HeaderError for an unknown one."""
    fields = []
    for name in header:
        f = obj.field(name.strip())
        if f is None or not f.stored:
            # Bulk API's message for a column the object does not have (observed text).
            raise HeaderError(f"InvalidBatch : Field name not found : {name}")
        fields.append(f)
    return fields


def _now() -> str:
    # Audit stamps have whole seconds on Salesforce (their milliseconds read .000).
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class Applier:
    """Applies the rows of one job (one object, one operation) through one write connection."""

    conn: sqlite3.Connection
    obj: SObject
    operation: str
    fields: list[Field]
    user_id: str
    new_id: Callable[[SObject], str]
    external_id: Field | None = None
    seen: set[str] = field(default_factory=set)

    # -- the operations ----------------------------------------------------------------------

    def apply(self, cells: list[str]) -> tuple[str, bool]:
        """Apply one row: ``(record Id, created)``, or raise RowError."""
        values = self._values(cells)
        if self.operation == "insert":
            return self._insert(values), True
        if self.operation == "delete":
            return self._delete(self._target(values)), False
        if self.operation == "update":
            return self._update(self._target(values), values), False
        return self._upsert(values)

    def _values(self, cells: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for col, (f, text) in enumerate(zip(self.fields, cells, strict=True)):
            if text == "":
                out[f.name] = _SKIP
            elif text == NULL:
                out[f.name] = None
            else:
                out[f.name] = parse_cell(f, text, col)
        return out

    def _insert(self, values: dict[str, Any]) -> str:
        if values.get("Id") not in (None, _SKIP):
            raise RowError(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ("Id",)
            )
        given = {k: v for k, v in values.items() if v is not _SKIP and k != "Id"}
        self._check_access(given, "createable")
        missing = [
            f.name
            for f in self.obj.fields
            if f.stored and not f.nillable and f.createable and not f.defaulted_on_create
            and given.get(f.name) is None
        ]  # fmt: skip
        if missing:
            raise RowError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                tuple(missing),
            )  # fmt: skip
        self._check_references(given)
        record_id = self.new_id(self.obj)
        self._check_unique(given, record_id)
        row = self._defaults(record_id)
        row.update(given)
        if self.obj.name == "Case":  # an auto-number: the next one
            last = self.conn.execute('SELECT MAX(CAST("CaseNumber" AS INTEGER)) FROM "Case"')
            row["CaseNumber"] = f"{int(last.fetchone()[0] or 1000) + 1:08d}"
        _derive(self.obj, row, created=True)
        columns = list(row)
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        self.conn.execute(
            f'INSERT INTO "{self.obj.name}" ({names}) VALUES ({marks})',  # noqa: S608 - names from SCHEMA
            [row[c] for c in columns],
        )
        return record_id

    def _update(self, record: dict[str, Any], values: dict[str, Any]) -> str:
        given = {k: v for k, v in values.items() if v is not _SKIP and k != "Id"}
        if self.external_id is not None:
            given.pop(self.external_id.name, None)  # the key it was found by
        self._check_access(given, "updateable")
        nulled = [
            f.name for f in self.obj.fields
            if f.name in given and given[f.name] is None and not f.nillable
        ]  # fmt: skip
        if nulled:
            raise RowError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(nulled)}]",
                tuple(nulled),
            )  # fmt: skip
        self._check_references(given)
        self._check_unique(given, record["Id"])
        row = dict(record)
        row.update(given)
        row.update(dict(zip(_AUDIT, (_now(), self.user_id, None), strict=True)))
        row["SystemModstamp"] = row["LastModifiedDate"]
        _derive(self.obj, row, created=False)
        changed = [c for c in row if row[c] != record[c]]
        if not changed:
            return str(record["Id"])
        sets = ", ".join(f'"{c}" = ?' for c in changed)
        self.conn.execute(
            f'UPDATE "{self.obj.name}" SET {sets} WHERE "Id" = ?',  # noqa: S608 - names from SCHEMA
            [row[c] for c in changed] + [record["Id"]],
        )
        return str(record["Id"])

    def _upsert(self, values: dict[str, Any]) -> tuple[str, bool]:
        key = self.external_id
        assert key is not None  # noqa: S101 - set for every upsert job
        value = values.get(key.name)
        if value in (None, _SKIP):
            raise RowError("MISSING_ARGUMENT", f"{key.name} not specified", ())
        if key.name == "Id":
            return self._update(self._target(values), values), False
        folded = str(value).lower()
        if folded in self.seen:
            raise RowError(
                "DUPLICATE_VALUE", f"Duplicate external id specified: {value}", (key.name,)
            )
        self.seen.add(folded)
        found = self._rows(f'"{key.name}" = ? COLLATE NOCASE AND "IsDeleted" = 0', [value])
        if len(found) > 1:
            ids = ", ".join(str(r["Id"]) for r in found)
            raise RowError(
                "DUPLICATE_EXTERNAL_ID",
                f"{key.label}: more than one record found for external id field: [{ids}]",
                (key.name,),
            )
        if found:
            return self._update(found[0], values), False
        return self._insert(values), True

    def _delete(self, record: dict[str, Any]) -> str:
        stamp = _now()
        self._soft_delete(self.obj, [str(record["Id"])], stamp)
        return str(record["Id"])

    def _soft_delete(self, obj: SObject, ids: list[str], stamp: str) -> None:
        marks = ", ".join("?" for _ in ids)
        self.conn.execute(
            f'UPDATE "{obj.name}" SET "IsDeleted" = 1, "LastModifiedDate" = ?, '  # noqa: S608 - names from SCHEMA
            f'"LastModifiedById" = ?, "SystemModstamp" = ? WHERE "Id" IN ({marks})',
            [stamp, self.user_id, stamp, *ids],
        )
        for child in obj.child_relationships:
            if not child.cascade_delete:
                continue
            target = SCHEMA[child.child_object]
            rows = self.conn.execute(
                f'SELECT "Id" FROM "{target.name}" WHERE "{child.field}" IN ({marks}) '  # noqa: S608 - names from SCHEMA
                'AND "IsDeleted" = 0',
                ids,
            ).fetchall()
            if rows:
                self._soft_delete(target, [r[0] for r in rows], stamp)

    # -- checks ------------------------------------------------------------------------------

    def _target(self, values: dict[str, Any]) -> dict[str, Any]:
        """The live record the row's ``Id`` names (update, delete)."""
        raw = values.get("Id")
        if raw in (None, _SKIP):
            raise RowError("MISSING_ARGUMENT", f"Id not specified in an {self.operation} call", ())
        record_id = _full_id(str(raw))
        if not record_id.startswith(self.obj.key_prefix):
            raise RowError(
                "MALFORMED_ID", f"{self.obj.label} ID: id value of incorrect type: {raw}", ("Id",)
            )
        if record_id in self.seen:
            raise RowError("DUPLICATE_VALUE", f"Duplicate id in list: {raw}", ())
        self.seen.add(record_id)
        found = self._rows('"Id" = ?', [record_id])
        if not found:
            raise RowError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())
        if found[0]["IsDeleted"]:
            raise RowError("ENTITY_IS_DELETED", "entity is deleted", ())
        return found[0]

    def _check_access(self, given: dict[str, Any], flag: str) -> None:
        refused = [n for n in given if not getattr(self.obj.field(n), flag)]
        if refused:
            raise RowError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(refused)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                tuple(refused),
            )

    def _check_references(self, given: dict[str, Any]) -> None:
        for name, value in given.items():
            f = self.obj.field(name)
            if f is None or f.type != "reference" or value is None:
                continue
            target_id = _full_id(str(value))
            targets = [t for t in (get_sobject(n) for n in f.reference_to) if t is not None]
            target = next((t for t in targets if target_id.startswith(t.key_prefix)), None)
            if target is None:
                raise RowError(
                    "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", (f.name,)
                )
            row = self.conn.execute(
                f'SELECT "IsDeleted" FROM "{target.name}" WHERE "Id" = ?',  # noqa: S608 - names from SCHEMA
                (target_id,),
            ).fetchone()
            if row is None:
                raise RowError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())
            if row[0]:
                raise RowError("ENTITY_IS_DELETED", "entity is deleted", ())
            given[name] = target_id

    def _check_unique(self, given: dict[str, Any], own_id: str) -> None:
        for name, value in given.items():
            f = self.obj.field(name)
            if f is None or not f.unique or value is None:
                continue
            other = self.conn.execute(
                f'SELECT "Id" FROM "{self.obj.name}" WHERE "{f.name}" = ? COLLATE NOCASE '  # noqa: S608 - names from SCHEMA
                'AND "Id" != ? LIMIT 1',
                (value, own_id),
            ).fetchone()
            if other is not None:
                raise RowError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: "
                    f"{other[0]}",
                    (),
                )

    # -- rows --------------------------------------------------------------------------------

    def _rows(self, where: str, args: list[Any]) -> list[dict[str, Any]]:
        cursor = self.conn.execute(f'SELECT * FROM "{self.obj.name}" WHERE {where}', args)  # noqa: S608 - names from SCHEMA
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def _defaults(self, record_id: str) -> dict[str, Any]:
        now = _now()
        row: dict[str, Any] = {c: None for c in self.obj.columns}
        for f in self.obj.fields:
            if f.type == "boolean" and f.stored:
                row[f.name] = 0
            if f.default_picklist_value:
                row[f.name] = f.default_picklist_value
        row.update(Id=record_id, IsDeleted=0, CreatedDate=now, CreatedById=self.user_id,
                   LastModifiedDate=now, LastModifiedById=self.user_id, SystemModstamp=now)  # fmt: skip
        if "OwnerId" in row:
            row["OwnerId"] = self.user_id
        if self.obj.name == "User":
            row.update(IsActive=1)
        return row


def _full_id(value: str) -> str:
    return to_18(value) if len(value) == 15 else restore_case(value)


def _derive(obj: SObject, row: dict[str, Any], *, created: bool) -> None:
    """The fields Salesforce computes from others, after the row's own values are set."""
    if obj.name in ("Contact", "User"):
        first, last = row.get("FirstName"), row.get("LastName")
        row["Name"] = f"{first} {last}" if first else last
    elif obj.name == "Opportunity":
        _derive_opportunity(row, created=created)
    elif obj.name == "Case":
        closed = row.get("Status") == "Closed"
        row["IsClosed"] = 1 if closed else 0
        if closed and not row.get("ClosedDate"):
            row["ClosedDate"] = row["LastModifiedDate"]
        if not closed:
            row["ClosedDate"] = None
    elif obj.name == "Task":
        row["IsClosed"] = 1 if row.get("Status") == "Completed" else 0
        row["IsHighPriority"] = 1 if row.get("Priority") == "High" else 0


def _derive_opportunity(row: dict[str, Any], *, created: bool) -> None:
    stage = STAGES.get(str(row.get("StageName")))
    if stage is not None:
        probability, forecast, closed, won = stage
        if created and row.get("Probability") is None:
            row["Probability"] = probability
        if created and row.get("ForecastCategoryName") is None:
            row["ForecastCategoryName"] = forecast
        row["IsClosed"], row["IsWon"] = int(closed), int(won)
    amount, chance = row.get("Amount"), row.get("Probability")
    row["ExpectedRevenue"] = (
        None if amount is None or chance is None else round(amount * chance / 100, 2)
    )
    close = row.get("CloseDate")
    if close:
        day = dt.date.fromisoformat(str(close))
        quarter = (day.month - 1) // 3 + 1
        row.update(FiscalYear=day.year, FiscalQuarter=quarter, Fiscal=f"{day.year} {quarter}")
