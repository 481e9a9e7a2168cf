"""``org.describe(...)``'s answer: Salesforce's describe JSON, shown as a compact card.

:class:`SObjectDescribe` is a plain ``dict`` subclass holding exactly what Salesforce sent, so
indexing, ``json.dumps``, equality with a ``dict`` and pickling are unchanged; only ``repr``
and ``_repr_html_`` differ: instead of a 40,000-pixel dict a notebook shows the object's name,
label, key prefix, how many fields of each type it has, a few flags and where to look next
(``org.fields("Account")``). No pandas here: :mod:`sfnotebook.connection` uses it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["SObjectDescribe", "describe_card_html", "describe_card_text"]

# The object-level flags the card shows, in this order (describe keys, as Salesforce names them).
_FLAGS = ("custom", "queryable", "createable", "updateable", "deletable", "searchable")
_TOP_TYPES = 8  # field types listed by name; the rest are summed as "other"


class SObjectDescribe(dict[str, Any]):
    """An object's describe (``/sobjects/{name}/describe``) that a notebook shows as a card.

    Everything but the display is the ``dict`` Salesforce's JSON decodes to:
    ``d["fields"]``, ``json.dumps(d)``, ``d == {...}`` behave as before. ``dict(d)`` is the
    plain dict.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        try:
            return describe_card_text(self)
        except Exception:
            return dict.__repr__(self)

    def _repr_html_(self) -> str:
        return describe_card_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's pretty printer would otherwise print the dict's items, not our repr.
        printer.text(repr(self))


def _name(describe: dict[str, Any]) -> str:
    return str(describe.get("name") or "?")


def _type_counts(describe: dict[str, Any]) -> list[tuple[str, int]]:
    fields = describe.get("fields")
    types = (
        Counter(str(f.get("type") or "?") for f in fields if isinstance(f, dict))
        if isinstance(fields, list)
        else Counter()
    )
    common = types.most_common(_TOP_TYPES)
    rest = sum(types.values()) - sum(n for _, n in common)
    return [*common, *([("other", rest)] if rest else [])]


def _summary(describe: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of the card."""
    fields = describe.get("fields")
    children = describe.get("childRelationships")
    record_types = describe.get("recordTypeInfos")
    n_fields = len(fields) if isinstance(fields, list) else 0
    rows = [
        ("Label", f"{describe.get('label') or ''} / {describe.get('labelPlural') or ''}"),
        ("Key prefix", str(describe.get("keyPrefix") or "none")),
        ("Fields", f"{n_fields:,}: " + ", ".join(f"{n} {t}" for t, n in _type_counts(describe))),
    ]
    if isinstance(children, list):
        rows.append(("Child relationships", f"{len(children):,}"))
    if isinstance(record_types, list):
        rows.append(("Record types", f"{len(record_types):,}"))
    flags = [flag for flag in _FLAGS if describe.get(flag) is True]
    rows.append(("Flags", ", ".join(flags) or "none"))
    return rows


def _hint(describe: dict[str, Any]) -> str:
    name = _name(describe)
    return f'org.fields("{name}") lists the fields; d["fields"] is the raw list'


def describe_card_text(describe: dict[str, Any]) -> str:
    """The card as text: a title line, then aligned ``label  value`` lines, then the hint."""
    rows = _summary(describe)
    width = max(len(label) for label, _ in rows)
    lines = [f"<describe {_name(describe)}>"]
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    lines.append(f"  {_hint(describe)}")
    return "\n".join(lines)


def describe_card_html(describe: dict[str, Any]) -> str:
    """The card as an HTML fragment (inline styles; every value escaped)."""
    from sfnotebook.display import key_value_html

    return key_value_html(
        f"Describe: {_name(describe)}",
        _summary(describe),
        css_class="sfnotebook-describe",
        footer=_hint(describe),
    )
