"""From SOQL text to the frame's layout: columns in SELECT order, their types, children.

The SELECT list is read by :mod:`sfnotebook._soql_parse`; types and schema spellings come from
the describes of the objects on each path (:mod:`sfnotebook._describe_paths`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfnotebook import _describe_paths as dp
from sfnotebook import _soql_parse as sp
from sfnotebook import dtypes as _dt
from sfnotebook._api import OrgApi
from sfnotebook.errors import (
    RequestLimitExceededError,
    SalesforceError,
    ServerUnavailableError,
    SessionExpiredError,
    UnexpectedAnswerError,
)
from sfnotebook.soql._frames import Layout
from sfnotebook.soql.records import infer_layout

__all__ = ["Plan", "layout_from_records", "plan"]

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


def _describer(conn: OrgApi) -> Callable[[str], Any]:
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


def plan(conn: OrgApi, select: sp.Select | None) -> Plan:
    describe_of = _describer(conn)
    if select is None:
        return Plan(None, False, describe_of)
    root = (describe_of(select.object_name) or {}).get("name") or select.object_name
    return Plan(_layout(select, describe_of, root), select.is_count_only, describe_of)


def layout_from_records(plan: Plan, records: list[Any]) -> Layout:
    inferred = infer_layout(records)
    root = inferred.object_name
    types = dict(inferred.types)
    for column in inferred.columns:
        resolved = dp.resolve_type(plan.describe_of, root, column)
        if resolved is not None:
            types[column] = resolved
    return Layout(inferred.columns, types, inferred.children, root)
