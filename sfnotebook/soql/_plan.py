"""From SOQL text to the frame's layout: columns in SELECT order, their types, children.

The SELECT list is read by :mod:`sfnotebook._soql_parse`; types and schema spellings come from
the describes of the objects on each path (:mod:`sfnotebook._describe_paths`).

A first query on a fresh connection loads its describes in two waves, so it costs two round
trips one after the other (issue 13, item 2): page 1 and the root object's describe together,
then every other describe the plan needs at once (:func:`load_describes`). Which objects those
are, page 1 tells: each record, parent and child record carries ``attributes.type`` ("Execute a
SOQL Query": ``"attributes" : {"type" : "Account", "url" : ...}``), read from the bytes with a
pattern (:func:`object_types`). A parent that is null on every record of page 1 names no type;
its object is then taken from the root describe's ``referenceTo`` (:func:`parent_objects`).
Only a deeper all-null parent, or a type page 1 did not spell as expected, is described later,
one after the other, as :func:`plan` walks the paths (slower, never wrong).

With describes kept from an earlier session (the on-disk describe cache,
:mod:`sfnotebook._describe_cache`), a new kernel's first query is one round trip: the kept
copies say, before page 1 is sent, which objects the query's paths and children lead to
(:func:`kept_objects`), and every one of them is revalidated in the same wave as page 1. The
kept copies only choose what to ask; the types always come from the revalidated describes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sfnotebook import _describe_paths as dp
from sfnotebook import _soql_parse as sp
from sfnotebook._api import OrgApi
from sfnotebook.errors import (
    RequestLimitExceededError,
    SalesforceError,
    ServerUnavailableError,
    SessionExpiredError,
    UnexpectedAnswerError,
)

if TYPE_CHECKING:  # pyarrow: imported when a layout is built, after page 1 was sent
    from sfnotebook.soql._frames import Layout

__all__ = [
    "Plan",
    "describer",
    "kept_objects",
    "layout_from_records",
    "load_describes",
    "object_types",
    "parent_objects",
    "plan",
]

# Failures that say nothing about the object: they must stop the query, not just its types
# (an answer that is not Salesforce's, cut short say, is transient too: retrying gives types).
_FATAL = (
    RequestLimitExceededError,
    ServerUnavailableError,
    SessionExpiredError,
    UnexpectedAnswerError,
)


@dataclass
class Plan:
    layout: Layout | None  # None: the SELECT list could not be read; taken from the records
    count_only: bool
    describe_of: Callable[[str], Any]


def describer(conn: OrgApi) -> Callable[[str], Any]:
    """``conn.describe`` that answers None for an object it cannot describe."""
    failed: set[str] = set()

    def describe_of(name: str | None) -> Any:
        if not name or name.lower() in failed:
            return None
        try:
            return conn.describe(name)
        except _FATAL:
            raise
        except SalesforceError:
            failed.add(name.lower())
            return None

    return describe_of


def _layout(select: sp.Select, describe_of: Callable[[str], Any], root: str | None) -> Layout:
    from sfnotebook import dtypes as _dt
    from sfnotebook.soql._frames import Layout

    columns: list[str] = []
    types: dict[str, str | None] = {}
    compound: set[str] = set()
    children: dict[str, Layout] = {}
    grouped = select.is_aggregate

    def add(column: str, sf_type: str | None) -> None:
        if column not in types:
            columns.append(column)
            types[column] = sf_type

    for item in select.items:
        if isinstance(item, sp.FieldRef):
            sf_type = dp.resolve_type(describe_of, root, item.path)
            if grouped:
                key = item.key if item.key != item.path else item.path.split(".")[-1]
                field = dp.resolve_field(describe_of, root, item.path.split("."))
                add(
                    str(field["name"]) if field and key == item.path.split(".")[-1] else key,
                    sf_type,
                )
                continue
            column = dp.spell(describe_of, root, item.path)
            parts = dp.compound_parts(describe_of, root, column)
            if parts:
                compound.add(column)
                for part in parts:
                    add(f"{column}.{part}", _dt.COMPOUND_PARTS.get(part))
            else:
                add(column, sf_type)
        elif isinstance(item, sp.Aggregate):
            if item.function in sp._INT_FUNCTIONS:
                add(item.key, "int")
            else:
                source = (
                    dp.resolve_type(describe_of, root, item.argument) if item.argument else None
                )
                add(item.key, _dt.aggregate_type(item.function, source))
        elif isinstance(item, sp.TypeOf):
            rel = dp.spell(describe_of, root, f"{item.relationship}.Id").rsplit(".", 1)[0]
            add(f"{rel}.attributes.type", "string")
            for name in item.fields:
                column = dp.spell(describe_of, root, f"{item.relationship}.{name}")
                add(column, dp.resolve_type(describe_of, root, column))
        else:
            child_root, rel = dp.child_object(describe_of, root or "", item.relationship)
            children[rel] = _layout(item.select, describe_of, child_root)
    return Layout(tuple(columns), types, children, root, frozenset(compound))


def plan(
    conn: OrgApi, select: sp.Select | None, describe_of: Callable[[str], Any] | None = None
) -> Plan:
    """The layout of ``select``'s frame; ``describe_of``: a :func:`describer` of ``conn``."""
    describe_of = describe_of or describer(conn)
    if select is None:
        return Plan(None, False, describe_of)
    root = (describe_of(select.object_name) or {}).get("name") or select.object_name
    return Plan(_layout(select, describe_of, root), select.is_count_only, describe_of)


def layout_from_records(plan: Plan, records: list[Any]) -> Layout:
    from sfnotebook.soql._frames import Layout
    from sfnotebook.soql.records import infer_layout

    inferred = infer_layout(records)
    root = inferred.object_name
    types = dict(inferred.types)
    for column in inferred.columns:
        resolved = dp.resolve_type(plan.describe_of, root, column)
        if resolved is not None:
            types[column] = resolved
    return Layout(inferred.columns, types, inferred.children, root)


# --------------------------------------------------------------------------- describes at once

# Salesforce writes "type" first in every record's attributes (REST API Developer Guide,
# "Execute a SOQL Query", example response); a page spelled otherwise only costs describes
# loaded later, in turn.
_TYPE = re.compile(rb'"attributes"\s*:\s*\{\s*"type"\s*:\s*"([A-Za-z][A-Za-z0-9_]*)"')


def object_types(page: bytes) -> list[str]:
    """The object names of every record, parent and child record of a query page."""
    seen: dict[str, str] = {}
    for match in _TYPE.finditer(page):
        name = match.group(1).decode("ascii")
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def parent_objects(select: sp.Select | None, root: Any) -> list[str]:
    """The objects the first hop of each parent path leads to, from the root's describe."""
    if select is None or not isinstance(root, dict):
        return []
    names: list[str] = []
    for item in select.items:
        if isinstance(item, sp.FieldRef) and "." in item.path:
            relationship = item.path.split(".", 1)[0].lower()
            for field in root.get("fields", ()):
                if str(field.get("relationshipName") or "").lower() == relationship:
                    names.extend(str(t) for t in field.get("referenceTo") or () if t)
    return names


def kept_objects(conn: object, select: sp.Select | None) -> list[str]:
    """The objects ``select`` reaches, read from describes the connection keeps; no request.

    Follows every parent path hop by hop (``Account.Owner.Name``: Account, then User) and each
    child subquery's relationship one level down, through the copies ``conn._kept_describe``
    holds (in memory or on disk). Stops where a copy is missing: what it cannot see is found
    in the second wave, as on a fresh connection. A connection without kept copies gives [].
    """
    kept = getattr(conn, "_kept_describe", None)
    if select is None or kept is None:
        return []

    def describe(name: str) -> Any:
        try:
            found = kept(name)
        except Exception:  # a hint only: a name the cache cannot hold is simply not hinted
            return None
        return found if isinstance(found, dict) else None

    names: dict[str, str] = {}
    root = describe(select.object_name)
    if root is None:
        return []
    for item in select.items:
        if isinstance(item, sp.FieldRef) and "." in item.path:
            objects = [root]
            for hop in item.path.split(".")[:-1]:
                targets: list[str] = []
                for parent in objects:
                    for field in parent.get("fields", ()):
                        if str(field.get("relationshipName") or "").lower() == hop.lower():
                            targets.extend(str(t) for t in field.get("referenceTo") or () if t)
                for target in targets:
                    names.setdefault(target.lower(), target)
                objects = [d for d in (describe(t) for t in targets) if d is not None]
                if not objects:
                    break
        elif isinstance(item, sp.SubSelect):
            for child in root.get("childRelationships", ()):
                if str(child.get("relationshipName") or "").lower() == item.relationship.lower():
                    target = str(child.get("childSObject") or "")
                    if target:
                        names.setdefault(target.lower(), target)
    names.pop(select.object_name.lower(), None)
    return list(names.values())


def load_describes(pool: Executor, describe_of: Callable[[str], Any], names: Iterable[str]) -> None:
    """Describe ``names`` all at once on ``pool`` (each object once; the connection caches
    them). A failure that says nothing about the object is raised; others leave the object
    undescribed, as :func:`describer` does."""
    unique = {name.lower(): name for name in names if name}
    futures = [pool.submit(describe_of, name) for name in unique.values()]
    for future in futures:
        future.result()
