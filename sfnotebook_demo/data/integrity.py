"""Salesforce's own rules on deleted records, applied to the generated dataset.

The seeders mark about 2% of each object's rows deleted, each on its own draw, which left
contacts and opportunities of deleted accounts live: a client counting an account's contacts
got numbers no org could give. After the rows are in, :func:`enforce` makes the deletions
ones Salesforce could have made:

1. An account or contact with a live case is not deleted: Salesforce refuses to delete an
   account that has associated cases (help, "Delete Accounts"), and a contact with cases
   ("Delete Contacts"), so those rows are kept live (with the accounts of those contacts).
2. Deleting a record deletes the children of its cascade-delete relationships (describe's
   ``cascadeDelete``): an account's contacts and opportunities, and the activities (tasks) of
   a deleted account, opportunity or contact go to the recycle bin with it ("Deleted accounts
   are moved to the Recycle Bin, along with these associated items: Contacts, Opportunities,
   ... Activities", help "Delete Accounts"). ``queryAll`` shows them with ``IsDeleted = true``.
3. A live record's lookup to a deleted record is cleared, as deleting the target of a lookup
   clears the field (``ParentId`` of a child account, ``ReportsToId`` of a contact).

``tests/demo/test_data_integrity.py`` asks the running demo org, through SOQL, that no live
record points at a deleted or missing one.
"""

from __future__ import annotations

import sqlite3

from sfnotebook_demo.data.schema import SCHEMA

__all__ = ["enforce"]

# Identifiers below come from SCHEMA, never from a request.
# ruff: noqa: S608


def _keep_records_with_live_cases(conn: sqlite3.Connection) -> None:
    live_cases = 'SELECT {col} FROM "Case" WHERE IsDeleted = 0 AND {col} IS NOT NULL'
    contacts = live_cases.format(col="ContactId")
    conn.execute(f"UPDATE Contact SET IsDeleted = 0 WHERE IsDeleted = 1 AND Id IN ({contacts})")
    conn.execute(
        "UPDATE Account SET IsDeleted = 0 WHERE IsDeleted = 1 AND ("
        f"Id IN ({live_cases.format(col='AccountId')}) "
        f"OR Id IN (SELECT AccountId FROM Contact WHERE Id IN ({contacts})))"
    )


def _cascade(conn: sqlite3.Connection) -> int:
    """One pass of cascade deletes over every relationship; the rows it deleted."""
    changed = 0
    for parent in SCHEMA.values():
        for rel in parent.child_relationships:
            if not rel.cascade_delete:
                continue
            cur = conn.execute(
                f'UPDATE "{rel.child_object}" SET IsDeleted = 1 WHERE IsDeleted = 0 AND '
                f'"{rel.field}" IN (SELECT Id FROM "{parent.name}" WHERE IsDeleted = 1)'
            )
            changed += cur.rowcount
    return changed


def _clear_lookups(conn: sqlite3.Connection) -> None:
    for obj in SCHEMA.values():
        for field in obj.fields:
            if field.type != "reference" or not field.nillable:
                continue
            for target in (t for t in field.reference_to if t in SCHEMA):  # not Profile
                conn.execute(
                    f'UPDATE "{obj.name}" SET "{field.name}" = NULL WHERE IsDeleted = 0 AND '
                    f'"{field.name}" IN (SELECT Id FROM "{target}" WHERE IsDeleted = 1)'
                )


def enforce(conn: sqlite3.Connection) -> None:
    """Apply the three rules of the module docstring to a freshly built dataset."""
    _keep_records_with_live_cases(conn)
    while _cascade(conn):  # grandchildren too (an account's opportunity's tasks)
        pass
    _clear_lookups(conn)
