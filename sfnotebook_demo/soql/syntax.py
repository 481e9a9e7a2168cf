"""The syntax tree of a parsed SOQL query (demo org; names unresolved, positions kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from sfnotebook_demo.soql.tokens import Token

__all__ = [
    "AndOr",
    "Compare",
    "Condition",
    "FieldPath",
    "FuncCall",
    "Literal",
    "Not",
    "OrderItem",
    "Query",
    "SelectField",
    "SubQuery",
    "TypeOf",
]


@dataclass
class FieldPath:
    parts: list[str]
    row: int
    col: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass
class FuncCall:
    name: str  # upper-cased
    args: list[FieldPath]  # empty for COUNT(); FIELDS(ALL) keeps ALL as a one-part path
    row: int
    col: int
    raw_name: str = ""


@dataclass
class SelectField:
    expr: FieldPath | FuncCall
    alias: str | None = None
    alias_token: Token | None = None


@dataclass
class TypeOf:
    relationship: str
    row: int
    col: int
    whens: list[tuple[str, list[FieldPath], Token]]
    else_fields: list[FieldPath] | None


@dataclass
class SubQuery:
    query: Query
    row: int
    col: int


@dataclass
class Literal:
    kind: str  # string number date datetime null boolean dateliteral
    value: object
    token: Token
    n: int | None = None  # for LAST_N_DAYS:n and friends
    like_value: str | None = None


@dataclass
class Compare:
    lhs: FieldPath | FuncCall
    op: str  # = != < <= > >= LIKE IN NOT IN INCLUDES EXCLUDES
    value: Literal | list[Literal] | SubQuery
    token: Token  # the operator token (for error positions)


@dataclass
class AndOr:
    op: str
    items: list[Condition]


@dataclass
class Not:
    item: Condition


Condition = Union[Compare, AndOr, Not]  # noqa: UP007 - runtime alias, needs py3.10 Union


@dataclass
class OrderItem:
    expr: FieldPath | FuncCall
    descending: bool = False
    nulls_last: bool | None = None


@dataclass
class Query:
    text: str
    select: list[SelectField | TypeOf | SubQuery]
    from_name: str
    from_token: Token
    from_alias: str | None = None
    where: Condition | None = None
    group_by: list[FieldPath | FuncCall] = field(default_factory=list)
    group_token: Token | None = None
    having: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    offset_token: Token | None = None
    limit_token: Token | None = None
    select_token: Token | None = None
