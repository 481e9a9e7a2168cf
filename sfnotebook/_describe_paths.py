"""Following SOQL paths through object describes: types, schema spellings, compound parts.

``describe_of(name)`` answers an object's describe (``/sobjects/{name}/describe``) or ``None``
when it is unknown; the functions here never fail on a missing describe, they answer ``None``
and the converter then infers from the values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "COMPOUND_PARTS",
    "child_object",
    "compound_parts",
    "order_parts",
    "resolve_field",
    "resolve_type",
    "spell",
]

#: Parts of compound fields (``address``, ``location``) and their Salesforce types.
COMPOUND_PARTS: dict[str, str] = {
    "street": "textarea",
    "city": "string",
    "state": "string",
    "stateCode": "picklist",
    "postalCode": "string",
    "country": "string",
    "countryCode": "picklist",
    "geocodeAccuracy": "picklist",
    "latitude": "double",
    "longitude": "double",
}

DescribeOf = Any  # Callable[[str], Mapping | None]: object name -> describe, or None if unknown


def _field(describe: Mapping[str, Any] | None, name: str, *, relationship: bool) -> Any:
    if not describe:
        return None
    wanted = name.lower()
    key = "relationshipName" if relationship else "name"
    for field in describe.get("fields", ()):
        if str(field.get(key) or "").lower() == wanted:
            return field
    return None


def resolve_field(describe_of: DescribeOf, root: str | None, path: Sequence[str]) -> Any:
    """The describe entry of the field at ``path`` from object ``root`` (None if unknown).

    Parent segments are followed through ``relationshipName`` -> ``referenceTo``; for a
    polymorphic lookup every target is tried and the first one having the next field wins.
    """
    if root is None or not path:
        return None
    objects = [root]
    for segment in path[:-1]:
        targets: list[str] = []
        for obj in objects:
            field = _field(describe_of(obj), segment, relationship=True)
            if field is not None:
                targets.extend(t for t in field.get("referenceTo") or () if t not in targets)
        if not targets:
            return None
        objects = targets
    for obj in objects:
        field = _field(describe_of(obj), path[-1], relationship=False)
        if field is not None:
            return field
    return None


def resolve_type(describe_of: DescribeOf, root: str | None, column: str) -> str | None:
    """Salesforce type of a dotted ``column`` (``Account.Owner.Name``, ``BillingAddress.city``).

    ``None`` when the describes at hand cannot tell; the converter then infers from the values.
    """
    path = column.split(".")
    if len(path) >= 2 and path[-2:] == ["attributes", "type"]:
        return "string"
    field = resolve_field(describe_of, root, path)
    if field is not None:
        return str(field.get("type"))
    if len(path) >= 2 and path[-1] in COMPOUND_PARTS:
        parent = resolve_field(describe_of, root, path[:-1])
        if parent is not None and parent.get("type") in {"address", "location"}:
            return COMPOUND_PARTS[path[-1]]
    return None


#: Display order of compound parts (Salesforce sends them alphabetically).
_PART_ORDER = list(COMPOUND_PARTS)


def compound_parts(describe_of: DescribeOf, root: str | None, column: str) -> list[str] | None:
    """The parts of compound field ``column`` (``["street", "city", ...]``), or None if scalar."""
    path = column.split(".")
    field = resolve_field(describe_of, root, path)
    if field is None or field.get("type") not in {"address", "location"}:
        return None
    if field.get("type") == "location":
        return ["latitude", "longitude"]
    obj_describe = describe_of(_owner(describe_of, root, path))
    parts = []
    for component in (obj_describe or {}).get("fields", ()):
        if component.get("compoundFieldName") == field.get("name"):
            part = _part_name(str(component["name"]), str(field["name"]))
            if part in COMPOUND_PARTS:
                parts.append(part)
    return order_parts(parts or ["street", "city", "state", "postalCode", "country"])


def order_parts(parts: Sequence[str]) -> list[str]:
    """Compound parts in display order: street, city, state ... then any unknown part."""
    known = [p for p in _PART_ORDER if p in parts]
    return known + [p for p in parts if p not in COMPOUND_PARTS]


def _owner(describe_of: DescribeOf, root: str | None, path: Sequence[str]) -> str | None:
    """Name of the object that holds the last field of ``path``."""
    if len(path) == 1:
        return root
    parent = resolve_field(describe_of, root, path[:-1])
    targets = (parent or {}).get("referenceTo") or [None]
    return str(targets[0]) if targets[0] else None


def _part_name(component: str, compound: str) -> str:
    """``BillingStateCode`` of ``BillingAddress`` -> ``stateCode``; ``Loc__Latitude__s`` -> lat."""
    stem = compound[: -len("Address")] if compound.endswith("Address") else compound
    rest = component[len(stem) :] if component.startswith(stem) else component
    rest = rest.replace("__s", "").lstrip("_")
    return rest[:1].lower() + rest[1:]


def spell(describe_of: DescribeOf, root: str | None, path: str) -> str:
    """``account.owner.name`` -> ``Account.Owner.Name``: keys as Salesforce will send them."""
    segments = path.split(".")
    out = [
        _relationship_spelling(describe_of, root, segments[: i + 1]) or segments[i]
        for i in range(len(segments) - 1)
    ]
    field = resolve_field(describe_of, root, segments)
    out.append(str(field["name"]) if field else segments[-1])
    return ".".join(out)


def _relationship_spelling(
    describe_of: DescribeOf, root: str | None, segments: list[str]
) -> str | None:
    """The schema spelling of the last relationship in ``segments`` (None if unknown)."""
    objects: list[str] = [root] if root else []
    name = None
    for segment in segments:
        targets: list[str] = []
        name = None
        for obj in objects:
            for field in (describe_of(obj) or {}).get("fields", ()):
                if str(field.get("relationshipName") or "").lower() == segment.lower():
                    name = name or str(field["relationshipName"])
                    targets.extend(field.get("referenceTo") or ())
        objects = targets
    return name


def child_object(describe_of: DescribeOf, parent: str, relationship: str) -> Any:
    for rel in (describe_of(parent) or {}).get("childRelationships", ()):
        if str(rel.get("relationshipName") or "").lower() == relationship.lower():
            return rel.get("childSObject"), str(rel["relationshipName"])
    return None, relationship
