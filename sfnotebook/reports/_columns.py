"""A report's filterable columns by label and by API name, read from its ``/describe``.

Results name columns by label ("Amount", "Stage"), the Reports API's filters by API name
(``AMOUNT``, ``STAGE_NAME``). The describe holds both: ``reportTypeMetadata.categories[].columns``
maps every column of the report type to its ``label``, ``dataType`` and ``filterable`` flag, and
``reportExtendedMetadata`` (``detailColumnInfo``, ``groupingColumnInfo``) labels the report's own
columns as its results show them (salesforce-api.md 5.8). A label can repeat across the report
type's categories (two objects' "Created By"); the report's own column wins, and otherwise the
name is ambiguous and the error lists each API name.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from sfnotebook.reports._paging import type_columns

__all__ = ["ColumnIndex"]

_LISTED_AT_MOST = 40  # report-type columns named in an error beyond the report's own


class ColumnIndex:
    """The columns a filter may name: API name -> info, and lookups by label."""

    def __init__(self, describe: Mapping[str, Any]) -> None:
        self.columns: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in type_columns(describe).items() if isinstance(v, Mapping)
        }
        self.categories: dict[str, str] = {}
        for category in (describe.get("reportTypeMetadata") or {}).get("categories") or []:
            for key in category.get("columns") or {}:
                self.categories.setdefault(key, str(category.get("label") or ""))
        extended = describe.get("reportExtendedMetadata") or {}
        metadata = describe.get("reportMetadata") or {}
        own: dict[str, Any] = {
            **(extended.get("detailColumnInfo") or {}),
            **(extended.get("groupingColumnInfo") or {}),
        }
        for key, info in own.items():
            if isinstance(info, Mapping):
                merged = self.columns.setdefault(key, {})
                for field in ("label", "dataType"):
                    merged.setdefault(field, info.get(field))
        grouped = [
            g.get("name")
            for axis in ("groupingsDown", "groupingsAcross")
            for g in metadata.get(axis) or []
            if isinstance(g, Mapping)
        ]
        self.own = [
            str(c)
            for c in dict.fromkeys([*grouped, *(metadata.get("detailColumns") or []), *own])
            if c in self.columns
        ]

    def __bool__(self) -> bool:
        return bool(self.columns)

    def label(self, key: str) -> str:
        return str(self.columns.get(key, {}).get("label") or key)

    def shown(self, key: str) -> str:
        """``'Amount' (AMOUNT)``, or the API name alone when it is its own label."""
        label = self.label(key)
        return repr(key) if label == key else f"{label!r} ({key})"

    def resolve(self, text: str) -> list[str]:
        """The API names ``text`` may mean: one when it is clear, several when ambiguous, [] none.

        An API name first, then a label (the report's own columns before the report type's),
        each exactly and then regardless of case.
        """
        for same in (lambda a, b: a == b, lambda a, b: a.casefold() == b.casefold()):
            by_key = [k for k in self.columns if same(k, text)]
            if by_key:
                return by_key
            by_label = [k for k in self.columns if same(self.label(k), text)]
            mine = [k for k in by_label if k in self.own]
            if mine or by_label:
                return mine if len(mine) == 1 else by_label
        return []

    def suggest(self, text: str) -> list[str]:
        """API names close to ``text`` by label or by API name (best first, no repeats)."""
        keys = {k.casefold(): k for k in self.columns}
        labels: dict[str, list[str]] = {}
        for k in self.columns:
            labels.setdefault(self.label(k).casefold(), []).append(k)
        found: list[str] = []
        for close in difflib.get_close_matches(text.casefold(), list(labels), n=4, cutoff=0.6):
            found += labels[close]
        for close in difflib.get_close_matches(text.casefold(), list(keys), n=4, cutoff=0.6):
            found.append(keys[close])
        found += [
            k
            for k in self.columns
            if len(text) >= 3 and text.casefold() in self.label(k).casefold()
        ]
        return list(dict.fromkeys(found))[:5]

    def listing(self) -> str:
        """The filterable columns for an error: the report's own first, then its type's."""
        usable = [k for k in self.columns if self.columns[k].get("filterable") is not False]
        own = [k for k in self.own if k in usable]
        others = [k for k in usable if k not in own]
        text = "Columns of this report: " + (", ".join(map(self.shown, own)) or "none") + "."
        if others:
            shown = others[:_LISTED_AT_MOST]
            more = len(others) - len(shown)
            text += (
                " Other filterable columns of its report type: "
                + ", ".join(map(self.shown, shown))
                + (f", and {more} more" if more else "")
                + "."
            )
        return text + " A filter names a column by label or API name."

    def describe_ambiguous(self, keys: list[str]) -> str:
        return ", ".join(
            f"{k} ({self.categories[k]})" if self.categories.get(k) else k for k in keys
        )
