"""``org.fields("Account")`` and ``org.picklist("Opportunity", "StageName")`` from the describe.

Both read the connection's cached describe (``conn.describe``: one request per object and
connection, none when another verb already described it). Field keys are REST describe's
(``/sobjects/{name}/describe`` ``fields[]``: name, label, type, length, precision, scale,
nillable, createable, updateable, unique, externalId, calculatedFormula, defaultValue,
defaultValueFormula, picklistValues, referenceTo, relationshipName, inlineHelpText,
controllerName, dependentPicklist).

A dependent picklist's entries carry ``validFor``: base64 of a bit set, read left to right,
whose bit *i* says the entry is valid when the controlling field has its *i*-th picklist value
(for a checkbox controller, bit 0 is unchecked and bit 1 checked). SOAP API reference,
DescribeSObjectResult, PicklistEntry ``validFor`` (developer.salesforce.com/docs/
atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm).
"""

from __future__ import annotations

import base64
import binascii
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sfnotebook._api import OrgApi
from sfnotebook.browse._listing import Listing, listing
from sfnotebook.errors import InvalidArgumentError

__all__ = ["fields_frame", "find_field", "picklist_frame", "valid_for"]

_PICKLISTS = frozenset({"picklist", "multipicklist", "combobox"})
_NUMBERS = frozenset({"double", "currency", "percent"})
_TEXT_KEYS = (("name", "name"), ("label", "label"), ("type", "type"),
              ("relationship_name", "relationshipName"), ("formula", "calculatedFormula"),
              ("help_text", "inlineHelpText"), ("controller", "controllerName"))  # fmt: skip
_FLAG_KEYS = (("nillable", "nillable"), ("createable", "createable"),
              ("updateable", "updateable"), ("unique", "unique"),
              ("external_id", "externalId"), ("custom", "custom"),
              ("calculated", "calculated"))  # fmt: skip
_ORDER = ("name", "label", "type", "length", "precision", "scale", "nillable", "createable",
          "updateable", "unique", "external_id", "custom", "calculated", "formula", "default",
          "picklist_values", "reference_to", "relationship_name", "controller",
          "help_text")  # fmt: skip


def _fields(describe: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [f for f in describe.get("fields") or [] if isinstance(f, dict)]


def _positive(value: Any) -> int | None:
    """Describe's 0 means "not applicable" for length, precision and scale of most types."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _default(field: Mapping[str, Any]) -> str | None:
    """The default as text: the formula if there is one, else the literal default value."""
    formula = field.get("defaultValueFormula")
    if formula:
        return str(formula)
    value = field.get("defaultValue")
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"  # as Salesforce writes it
    return str(value)


def fields_frame(conn: OrgApi, sobject: str, *, search: str | None) -> Listing:
    """The object's fields as a frame (see :func:`sfnotebook.browse.fields`)."""
    describe = conn.describe(sobject)
    fields = _fields(describe)
    if search:
        needle = search.lower()
        fields = [
            f
            for f in fields
            if needle in str(f.get("name") or "").lower()
            or needle in str(f.get("label") or "").lower()
        ]
    columns: dict[str, Any] = {}
    for column, key in _TEXT_KEYS:
        columns[column] = pd.array([f.get(key) or None for f in fields], dtype="string")
    for column, key in _FLAG_KEYS:
        columns[column] = pd.array([f.get(key) for f in fields], dtype="boolean")
    numeric = [f.get("type") in _NUMBERS for f in fields]
    columns["length"] = pd.array([_positive(f.get("length")) for f in fields], dtype="Int64")
    columns["precision"] = pd.array(
        [
            _positive(f.get("precision")) if n else None
            for f, n in zip(fields, numeric, strict=True)
        ],
        dtype="Int64",
    )
    columns["scale"] = pd.array(
        [f.get("scale") if n else None for f, n in zip(fields, numeric, strict=True)], dtype="Int64"
    )
    columns["default"] = pd.array([_default(f) for f in fields], dtype="string")
    columns["picklist_values"] = pd.Series(
        [_active_values(f) for f in fields], dtype=object, index=range(len(fields))
    )
    columns["reference_to"] = pd.Series(
        [list(f.get("referenceTo") or []) for f in fields], dtype=object, index=range(len(fields))
    )
    frame = pd.DataFrame({name: columns[name] for name in _ORDER})
    name = str(describe.get("name") or sobject)
    what = f"{len(frame):,} fields" + (f" matching {search!r}" if search else "")
    picklist = next((f["name"] for f in _fields(describe) if f.get("type") in _PICKLISTS), None)
    note = f'org.describe("{name}") is the raw describe'
    if picklist:
        note = f'org.picklist("{name}", "{picklist}") shows a picklist\'s values; ' + note
    label = describe.get("label")
    title = f"{name} ({label})" if label and label != name else name
    return listing(frame, f"{title}: {what}", note)


def _active_values(field: Mapping[str, Any]) -> list[str]:
    entries = field.get("picklistValues") or []
    return [str(e.get("value")) for e in entries if isinstance(e, dict) and e.get("active", True)]


def find_field(describe: Mapping[str, Any], field: str) -> dict[str, Any]:
    """The describe's entry for ``field`` (any case), or an error that suggests close names."""
    fields = _fields(describe)
    for entry in fields:
        if str(entry.get("name", "")).lower() == field.lower():
            return entry
    names = [str(f.get("name")) for f in fields]
    close = difflib.get_close_matches(field, names, n=3, cutoff=0.6)
    sobject = describe.get("name") or "the object"
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InvalidArgumentError(
        f"{sobject} has no field {field!r}.{hint} org.fields({str(sobject)!r}) lists them all.",
        argument="field",
    )


def valid_for(encoded: str | None, controller_values: Sequence[str]) -> list[str] | None:
    """The controlling values a dependent entry is valid for, from its base64 ``validFor``."""
    if not encoded:
        return None
    try:
        bits = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None  # unreadable: shown as unknown, never guessed
    return [
        value
        for i, value in enumerate(controller_values)
        if i // 8 < len(bits) and bits[i // 8] & (0x80 >> (i % 8))
    ]


def _controller_values(describe: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str] | None:
    """The controlling field's values in describe order (a checkbox: unchecked, checked)."""
    name = entry.get("controllerName")
    if not entry.get("dependentPicklist") or not name:
        return None
    controller = next((f for f in _fields(describe) if f.get("name") == name), None)
    if controller is None:
        return None
    if controller.get("type") == "boolean":
        return ["false", "true"]
    return [str(e.get("value")) for e in controller.get("picklistValues") or []]


def picklist_frame(conn: OrgApi, sobject: str, field: str) -> Listing:
    """One picklist's values (see :func:`sfnotebook.browse.picklist`)."""
    describe = conn.describe(sobject)
    entry = find_field(describe, field)
    name = str(entry.get("name"))
    if entry.get("type") not in _PICKLISTS:
        raise InvalidArgumentError(
            f"{describe.get('name')}.{name} is a {entry.get('type')} field, not a picklist; "
            f"org.fields({describe.get('name')!r}) shows each field's type.",
            argument="field",
        )
    values = [e for e in entry.get("picklistValues") or [] if isinstance(e, dict)]
    controller_values = _controller_values(describe, entry)
    columns: dict[str, Any] = {
        "value": pd.array([e.get("value") for e in values], dtype="string"),
        "label": pd.array([e.get("label") for e in values], dtype="string"),
        "active": pd.array([e.get("active") for e in values], dtype="boolean"),
        "default": pd.array([e.get("defaultValue") for e in values], dtype="boolean"),
    }
    controller = entry.get("controllerName")
    if controller_values is not None:
        columns[f"valid_for_{controller}"] = pd.Series(
            [valid_for(e.get("validFor"), controller_values) for e in values],
            dtype=object,
            index=range(len(values)),
        )
    frame = pd.DataFrame(columns)
    active = int(frame["active"].fillna(False).sum()) if len(frame) else 0
    caption = f"{describe.get('name')}.{name} ({entry.get('label')}): {len(frame):,} values"
    note = f"{active:,} active"
    if controller:
        note += f"; depends on {controller}"
    if entry.get("restrictedPicklist"):
        note += "; restricted (only these values are accepted)"
    return listing(frame, caption, note)
