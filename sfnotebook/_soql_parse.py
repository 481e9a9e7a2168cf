"""A light reader of a SOQL SELECT list: which columns a result will have, in which order.

It is not a validator (Salesforce is): it only reads what ``org.query`` needs to shape the frame
before any row arrives, so that an empty result and a parent that is null on every row still
give their columns. It reads the SELECT list (fields, parent paths, ``TYPEOF``, child subqueries,
aggregates and their ``exprN`` names), the ``FROM`` object and whether the query groups.
Anything it cannot read makes :func:`parse_select` return ``None``; the caller then takes the
columns from the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Aggregate",
    "FieldRef",
    "Select",
    "SubSelect",
    "TypeOf",
    "column_names",
    "parse_select",
]

_AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"}
# Functions whose result is a whole number (date functions in GROUP BY queries).
_INT_FUNCTIONS = {
    "CALENDAR_MONTH", "CALENDAR_QUARTER", "CALENDAR_YEAR", "DAY_IN_MONTH", "DAY_IN_WEEK",
    "DAY_IN_YEAR", "FISCAL_MONTH", "FISCAL_QUARTER", "FISCAL_YEAR", "HOUR_IN_DAY",
    "WEEK_IN_MONTH", "WEEK_IN_YEAR",
}  # fmt: skip
# Functions that keep their field's key and type (no exprN when not aggregating).
_TRANSPARENT = {"TOLABEL", "CONVERTCURRENCY", "FORMAT"}
_CLAUSES = {"WHERE", "WITH", "GROUP", "ORDER", "LIMIT", "OFFSET", "FOR", "UPDATE", "USING"}

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<num>\d[\w.:-]*)"
    r"|(?P<op>[(),*]|[^\sA-Za-z0-9_(),']+))"
)


@dataclass(frozen=True)
class FieldRef:
    """A field or parent path as written (``Account.Owner.Name``), with its result key."""

    path: str
    key: str
    function: str | None = None  # toLabel/convertCurrency/FORMAT or a date function


@dataclass(frozen=True)
class Aggregate:
    """``SUM(Amount) total`` -> function SUM, argument Amount, key ``total`` (or ``exprN``)."""

    function: str
    argument: str | None
    key: str


@dataclass(frozen=True)
class TypeOf:
    """``TYPEOF What WHEN Account THEN Name ...  END``: the relationship and all branch fields."""

    relationship: str
    fields: tuple[str, ...]
    branches: tuple[str, ...]


@dataclass(frozen=True)
class SubSelect:
    """A child subquery: the relationship name and its own SELECT."""

    relationship: str
    select: Select


@dataclass(frozen=True)
class Select:
    """What a SOQL query selects."""

    object_name: str
    items: tuple[FieldRef | Aggregate | TypeOf | SubSelect, ...] = field(default_factory=tuple)
    grouped: bool = False

    @property
    def is_aggregate(self) -> bool:
        return self.grouped or any(isinstance(i, Aggregate) for i in self.items)

    @property
    def is_count_only(self) -> bool:
        """``SELECT COUNT() FROM X``: Salesforce answers with totalSize and no records."""
        return (
            len(self.items) == 1
            and isinstance(self.items[0], Aggregate)
            and self.items[0].function == "COUNT"
            and self.items[0].argument is None
            and not self.grouped
        )


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        tok = match.group(match.lastgroup or "op")
        if tok:
            out.append(tok)
        pos = match.end()
    return out


class _Reader:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.tokens[i] if i < len(self.tokens) else ""

    def take(self) -> str:
        tok = self.peek()
        self.pos += 1
        return tok

    def expect(self, word: str) -> None:
        if self.take().upper() != word:
            raise ValueError(word)


def parse_select(text: str) -> Select | None:
    """Read the SELECT list of ``text``; ``None`` when it cannot be read."""
    try:
        reader = _Reader(_tokens(text))
        select = _select(reader)
    except (ValueError, IndexError):
        return None
    return select


def _select(r: _Reader) -> Select:
    r.expect("SELECT")
    items: list[FieldRef | Aggregate | TypeOf | SubSelect] = []
    expr = 0
    while True:
        tok = r.peek()
        if tok == "(":
            r.take()
            sub = _select(r)
            r.expect(")")
            items.append(SubSelect(sub.object_name, sub))
        elif tok.upper() == "TYPEOF":
            items.append(_typeof(r))
        elif r.peek(1) == "(":
            function = r.take().upper()
            argument = _argument(r)
            alias = _alias(r)
            if function in _AGGREGATES or function in _INT_FUNCTIONS:
                key = alias or f"expr{expr}"
                expr += alias is None
                items.append(Aggregate(function, argument, key))
            elif function in _TRANSPARENT and argument:
                items.append(FieldRef(argument, alias or argument.split(".")[-1], function))
            else:  # DISTANCE, GROUPING, FIELDS(...) ...: not readable here
                raise ValueError(function)
        elif tok and tok not in {",", ")"}:
            path = r.take()
            items.append(FieldRef(path, _alias(r) or path))
        else:
            raise ValueError(tok)
        if r.peek() == ",":
            r.take()
            continue
        break
    r.expect("FROM")
    object_name = r.take()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", object_name):
        raise ValueError(object_name)
    grouped = False
    depth = 0
    while r.peek() and not (depth == 0 and r.peek() == ")"):
        tok = r.take()
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0 and tok.upper() == "GROUP" and r.peek().upper() == "BY":
            grouped = True
    return Select(object_name, tuple(items), grouped)


def _argument(r: _Reader) -> str | None:
    r.expect("(")
    if r.peek() == ")":
        r.take()
        return None
    parts = []
    while r.peek() != ")":
        if r.peek() == "(":
            raise ValueError("nested call")
        parts.append(r.take())
    r.take()
    arg = " ".join(parts)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", arg):
        raise ValueError(arg)
    return arg


def _alias(r: _Reader) -> str | None:
    tok = r.peek()
    if (
        tok not in {"", ",", ")"}
        and tok.upper() not in {"FROM"} | _CLAUSES
        and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok)
    ):
        return r.take()
    return None


def _typeof(r: _Reader) -> TypeOf:
    r.expect("TYPEOF")
    relationship = r.take()
    fields: list[str] = []
    branches: list[str] = []
    while True:
        word = r.take().upper()
        if word == "END":
            break
        if word == "WHEN":
            branches.append(r.take())
            r.expect("THEN")
        elif word != "ELSE":
            raise ValueError(word)
        while True:
            name = r.take()
            if name.lower() not in {f.lower() for f in fields}:
                fields.append(name)
            if r.peek() != ",":
                break
            r.take()
    return TypeOf(relationship, tuple(fields), tuple(branches))


def column_names(select: Select, *, parts: tuple[str, ...] = ()) -> set[str]:
    """Every name (lower case) a column of the result or of its child frames can have.

    A superset, for checking ``dtypes=`` keys before any request: a field's path, its alias and
    its last segment (a grouped query names the column by the field), ``path.part`` for each
    of ``parts`` (a compound field such as ``BillingAddress`` becomes ``BillingAddress.city``
    ...), a TYPEOF's ``rel.attributes.type`` and fields, and each child subquery's columns
    with the parent Id column of its child frame.
    """
    names: set[str] = set()
    for item in select.items:
        if isinstance(item, FieldRef):
            for name in (item.key, item.path, item.path.split(".")[-1]):
                names.add(name.lower())
                names.update(f"{name}.{part}".lower() for part in parts)
        elif isinstance(item, Aggregate):
            names.add(item.key.lower())
        elif isinstance(item, TypeOf):
            names.add(f"{item.relationship}.attributes.type".lower())
            names.update(f"{item.relationship}.{f}".lower() for f in item.fields)
        else:
            names |= column_names(item.select, parts=parts)
            parent = f"{select.object_name}Id".lower()
            names |= {parent, f"parent.{parent}", "parentid", "parent.parentid"}
    return names
