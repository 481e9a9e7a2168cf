"""The types of the demo org's object model: fields, child relationships, objects.

What the objects are (their fields, relationships and picklist values) is
:mod:`sfnotebook_demo.data.schema`; this module says what a field or an object *is*, and how a
field type is stored.

Storage per field type (one column per stored field, named by its API name):
id/reference/string/picklist/multipicklist (``;``-joined)/textarea/email/phone/url TEXT;
boolean INTEGER 0/1; int INTEGER; double/currency/percent REAL (percent in percent units);
date TEXT ``YYYY-MM-DD``; datetime TEXT ``YYYY-MM-DDTHH:MM:SS.000+0000``; time TEXT
``HH:MM:SS.000Z``. Compound ``address``/``location`` fields have no column: their components
(``compound_field_name`` set) do.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

__all__ = ["COMPOUND_TYPES", "ChildRelationship", "Field", "SObject", "sql_type"]

COMPOUND_TYPES = frozenset({"address", "location"})

_SQL_TYPES = {
    "boolean": "INTEGER",
    "int": "INTEGER",
    "double": "REAL",
    "currency": "REAL",
    "percent": "REAL",
}


def sql_type(field_type: str) -> str:
    """The SQLite column type that stores a Salesforce field type."""
    return _SQL_TYPES.get(field_type, "TEXT")


@dataclass(frozen=True)
class Field:
    """One field of an object, with the metadata its describe needs."""

    name: str
    label: str
    type: str
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    compound_field_name: str | None = None
    picklist_values: tuple[str, ...] = ()
    nillable: bool = True
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    custom: bool = False
    calculated: bool = False
    auto_number: bool = False
    name_field: bool = False
    createable: bool = True
    updateable: bool = True
    polymorphic: bool = False  # polymorphicForeignKey even with one target (WhoId)
    default_picklist_value: str | None = None
    restricted_picklist: bool = False
    extra_type_info: str | None = None
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    html_formatted: bool = False
    defaulted_on_create: bool = False
    inline_help_text: str | None = None

    @property
    def stored(self) -> bool:
        """True when the field is a column of the object's table (compounds are not)."""
        return self.type not in COMPOUND_TYPES

    @property
    def polymorphic_foreign_key(self) -> bool:
        return self.polymorphic or len(self.reference_to) > 1

    @property
    def sql_type(self) -> str:
        return sql_type(self.type)


@dataclass(frozen=True)
class ChildRelationship:
    """A parent-to-child relationship: ``Account.Contacts`` is (Contacts, Contact, AccountId).

    ``name`` is ``None`` for relationships that exist in describe but cannot be used in a
    subquery (as on Salesforce, where many ``relationshipName`` values are null).
    """

    name: str | None
    child_object: str
    field: str
    cascade_delete: bool = False


@dataclass(frozen=True)
class SObject:
    """An object (table) of the demo org."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[Field, ...]
    child_relationships: tuple[ChildRelationship, ...] = ()
    custom: bool = False
    _by_name: dict[str, Field] = dc_field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_rel: dict[str, Field] = dc_field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_child: dict[str, ChildRelationship] = dc_field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for f in self.fields:
            self._by_name[f.name.lower()] = f
            if f.relationship_name:
                self._by_rel[f.relationship_name.lower()] = f
        for c in self.child_relationships:
            if c.name:
                self._by_child[c.name.lower()] = c

    def field(self, name: str) -> Field | None:
        """The field called ``name`` (case-insensitive), or ``None``."""
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationship name is ``name`` (``Account`` -> AccountId)."""
        return self._by_rel.get(name.lower())

    def child(self, name: str) -> ChildRelationship | None:
        """The child relationship called ``name`` (``Contacts`` on Account), or ``None``."""
        return self._by_child.get(name.lower())

    @property
    def columns(self) -> list[str]:
        """API names of the stored fields, in table column order."""
        return [f.name for f in self.fields if f.stored]

    def components(self, compound: str) -> list[Field]:
        """The component fields of a compound field (``BillingAddress`` -> BillingStreet, ...)."""
        key = compound.lower()
        return [
            f for f in self.fields if f.compound_field_name and f.compound_field_name.lower() == key
        ]
