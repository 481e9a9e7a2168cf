"""SOQL tokenizer and recursive-descent parser for the demo org (syntax only, no schema).

The parser turns SOQL text into the small AST below; :mod:`sfnotebook.demo.soql` resolves it
against the schema. Syntax errors are raised as :class:`SoqlError` with ``MALFORMED_QUERY`` and
Salesforce's message layout: the query row echoed, a caret line, ``ERROR at Row:r:Column:c``
and ``unexpected token: 'X'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

__all__ = [
    "DATE_LITERALS",
    "AndOr",
    "Compare",
    "FieldPath",
    "FuncCall",
    "Literal",
    "Not",
    "OrderItem",
    "Query",
    "SelectField",
    "SoqlError",
    "SubQuery",
    "Token",
    "TypeOf",
    "format_error",
    "parse",
    "tokenize",
]


class SoqlError(Exception):
    """A SOQL error as Salesforce reports it: an ``error_code`` and a ``message``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def format_error(text: str, row: int, col: int, detail: str) -> str:
    """Salesforce's positioned message: the row echoed, a caret under the column, the detail."""
    lines = text.split("\n")
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{detail}"


# Date literals; the ones taking ":n" are listed in N_DATE_LITERALS.
DATE_LITERALS = frozenset(
    {
        "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
        "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER",
        "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
        "THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER", "THIS_FISCAL_YEAR",
        "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR",
    }
)  # fmt: skip
N_DATE_LITERALS = frozenset(
    {
        "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "NEXT_N_WEEKS", "LAST_N_WEEKS",
        "N_WEEKS_AGO", "NEXT_N_MONTHS", "LAST_N_MONTHS", "N_MONTHS_AGO", "NEXT_N_QUARTERS",
        "LAST_N_QUARTERS", "N_QUARTERS_AGO", "NEXT_N_YEARS", "LAST_N_YEARS", "N_YEARS_AGO",
        "NEXT_N_FISCAL_QUARTERS", "LAST_N_FISCAL_QUARTERS", "N_FISCAL_QUARTERS_AGO",
        "NEXT_N_FISCAL_YEARS", "LAST_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO",
    }
)  # fmt: skip

# Words that end a field list or cannot be an alias.
RESERVED = frozenset(
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "INCLUDES", "EXCLUDES",
        "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS", "NULL",
        "TRUE", "FALSE", "TYPEOF", "WHEN", "THEN", "ELSE", "END", "USING", "WITH", "FOR",
        "ROLLUP", "CUBE", "FIRST", "LAST", "UPDATE", "VIEW", "REFERENCE", "ALL",
    }
)  # fmt: skip

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.:])
    """,
    re.VERBOSE,
)

_ESCAPES = {
    "n": "\n", "N": "\n", "t": "\t", "T": "\t", "r": "\r", "R": "\r", "b": "\b", "B": "\b",
    "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}  # fmt: skip


@dataclass
class Token:
    kind: str  # ident string number date datetime op punct eof
    value: str
    row: int
    col: int
    raw: str = ""  # the source text (strings: with their quotes)
    like_value: str | None = None  # string literal with \% and \_ kept escaped, for LIKE

    @property
    def upper(self) -> str:
        return self.value.upper() if self.kind == "ident" else ""


def tokenize(text: str) -> list[Token]:
    """Split SOQL into tokens with 1-based row/column positions."""
    tokens: list[Token] = []
    pos, row, line_start = 0, 1, 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        col = pos - line_start + 1
        if m is None:
            raise SoqlError(
                "MALFORMED_QUERY", format_error(text, row, col, f"unexpected token: '{text[pos]}'")
            )
        kind = m.lastgroup or ""
        if kind == "ws":
            chunk = m.group()
            if "\n" in chunk:
                row += chunk.count("\n")
                line_start = pos + chunk.rfind("\n") + 1
            pos = m.end()
            continue
        if kind == "string":
            value, like, end = _read_string(text, pos, row, col)
            tokens.append(Token("string", value, row, col, text[pos:end], like))
            pos = end
            continue
        tokens.append(Token(kind, m.group(), row, col, m.group()))
        pos = m.end()
    col = pos - line_start + 1
    tokens.append(Token("eof", "<EOF>", row, col, "<EOF>"))
    return tokens


def _read_string(text: str, start: int, row: int, col: int) -> tuple[str, str, int]:
    """A quoted literal: (value, value for LIKE with \\% and \\_ still escaped, end)."""
    out: list[str] = []
    like: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return "".join(out), "".join(like), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in ("%", "_"):
                out.append(nxt)
                like.append("\\" + nxt)
            elif nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                like.append("\\\\" if nxt == "\\" else _ESCAPES[nxt])
            else:
                detail = (
                    f"Invalid string literal '{text[start : i + 2]}'. Illegal character sequence "
                    f"'\\{nxt}' in string literal."
                )
                raise SoqlError("MALFORMED_QUERY", format_error(text, row, col, detail))
            i += 2
            continue
        out.append(ch)
        like.append(ch)
        i += 1
    raise SoqlError("MALFORMED_QUERY", format_error(text, row, col, "unexpected token: '<EOF>'"))


# --- AST ------------------------------------------------------------------------------------


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


# --- parser ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def error(self, tok: Token | None = None, detail: str | None = None) -> SoqlError:
        t = tok or self.tok
        msg = detail if detail is not None else f"unexpected token: '{t.value}'"
        return SoqlError("MALFORMED_QUERY", format_error(self.text, t.row, t.col, msg))

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.error()
        return self.advance()

    def expect_punct(self, p: str) -> Token:
        if not (self.tok.kind == "punct" and self.tok.value == p):
            raise self.error()
        return self.advance()

    def is_punct(self, p: str) -> bool:
        return self.tok.kind == "punct" and self.tok.value == p

    # grammar
    def parse_query(self, nested: bool = False) -> Query:
        select_tok = self.expect_kw("SELECT")
        items = self.parse_select_list()
        from_tok = self.expect_kw("FROM")
        del from_tok
        if self.tok.kind != "ident" or self.tok.upper in RESERVED:
            raise self.error()
        name_tok = self.advance()
        from_name = name_tok.value
        # Relationship names in subqueries may not be dotted; top-level FROM takes one name.
        q = Query(self.text, items, from_name, name_tok, select_token=select_tok)
        if self.tok.kind == "ident" and self.tok.upper not in RESERVED:
            q.from_alias = self.advance().value
        if self.is_kw("USING"):
            self.advance()
            self.expect_kw("SCOPE")
            if self.tok.kind != "ident":
                raise self.error()
            self.advance()
        if self.is_kw("WHERE"):
            self.advance()
            q.where = self.parse_condition()
        if self.is_kw("WITH"):
            raise self.error()
        if self.is_kw("GROUP"):
            q.group_token = self.advance()
            self.expect_kw("BY")
            if self.is_kw("ROLLUP", "CUBE"):
                raise self.error(
                    detail=f"{self.tok.value.upper()} is not supported by the demo org"
                )
            q.group_by.append(self.parse_operand())
            while self.is_punct(","):
                self.advance()
                q.group_by.append(self.parse_operand())
        if self.is_kw("HAVING"):
            self.advance()
            q.having = self.parse_condition()
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            q.order_by.append(self.parse_order_item())
            while self.is_punct(","):
                self.advance()
                q.order_by.append(self.parse_order_item())
        if self.is_kw("LIMIT"):
            q.limit_token = self.advance()
            q.limit = self.parse_int()
        if self.is_kw("OFFSET"):
            q.offset_token = self.advance()
            q.offset = self.parse_int()
        if self.is_kw("FOR"):
            self.advance()
            if not self.is_kw("VIEW", "REFERENCE", "UPDATE"):
                raise self.error()
            self.advance()
        if self.is_kw("ALL") and self.peek().kind == "ident" and self.peek().upper == "ROWS":
            self.advance()
            self.advance()
        if nested:
            if not self.is_punct(")"):
                raise self.error()
        elif self.tok.kind != "eof":
            raise self.error()
        return q

    def parse_int(self) -> int:
        t = self.tok
        if t.kind != "number" or not t.value.isdigit():
            raise self.error()
        self.advance()
        return int(t.value)

    def parse_select_list(self) -> list[SelectField | TypeOf | SubQuery]:
        items: list[SelectField | TypeOf | SubQuery] = [self.parse_select_item()]
        while self.is_punct(","):
            self.advance()
            items.append(self.parse_select_item())
        return items

    def parse_select_item(self) -> SelectField | TypeOf | SubQuery:
        t = self.tok
        if self.is_punct("("):
            self.advance()
            sub = self.parse_query(nested=True)
            self.expect_punct(")")
            return SubQuery(sub, t.row, t.col)
        if self.is_kw("TYPEOF"):
            return self.parse_typeof()
        if t.kind != "ident" or t.upper in RESERVED:
            raise self.error()
        expr = self.parse_operand()
        item = SelectField(expr)
        if self.tok.kind == "ident" and self.tok.upper not in RESERVED:
            item.alias_token = self.advance()
            item.alias = item.alias_token.value
        return item

    def parse_typeof(self) -> TypeOf:
        start = self.advance()
        if self.tok.kind != "ident":
            raise self.error()
        rel = self.advance()
        whens: list[tuple[str, list[FieldPath], Token]] = []
        else_fields: list[FieldPath] | None = None
        while self.is_kw("WHEN"):
            self.advance()
            if self.tok.kind != "ident":
                raise self.error()
            type_tok = self.advance()
            self.expect_kw("THEN")
            whens.append((type_tok.value, self.parse_path_list(), type_tok))
        if not whens:
            raise self.error()
        if self.is_kw("ELSE"):
            self.advance()
            else_fields = self.parse_path_list()
        self.expect_kw("END")
        return TypeOf(rel.value, start.row, start.col, whens, else_fields)

    def parse_path_list(self) -> list[FieldPath]:
        paths = [self.parse_path()]
        while self.is_punct(","):
            self.advance()
            paths.append(self.parse_path())
        return paths

    def parse_path(self) -> FieldPath:
        t = self.tok
        if t.kind != "ident" or t.upper in RESERVED:
            raise self.error()
        self.advance()
        parts = [t.value]
        while self.is_punct("."):
            self.advance()
            if self.tok.kind != "ident":
                raise self.error()
            parts.append(self.advance().value)
        return FieldPath(parts, t.row, t.col)

    def parse_operand(self) -> FieldPath | FuncCall:
        t = self.tok
        if t.kind == "ident" and self.peek().kind == "punct" and self.peek().value == "(":
            if t.upper in RESERVED:
                raise self.error()
            self.advance()
            self.advance()
            args: list[FieldPath] = []
            if not self.is_punct(")"):
                if t.upper == "FIELDS" and self.tok.kind == "ident":
                    word = self.advance()
                    args.append(FieldPath([word.value], word.row, word.col))
                else:
                    args.append(self.parse_operand_arg())
            self.expect_punct(")")
            return FuncCall(t.upper, args, t.row, t.col, t.value)
        return self.parse_path()

    def parse_operand_arg(self) -> FieldPath:
        # Nested functions (CALENDAR_YEAR(convertTimezone(x))) are flattened to their field.
        if self.tok.kind == "ident" and self.peek().kind == "punct" and self.peek().value == "(":
            inner = self.parse_operand()
            if isinstance(inner, FuncCall) and inner.args:
                return inner.args[0]
            raise self.error()
        return self.parse_path()

    def parse_order_item(self) -> OrderItem:
        item = OrderItem(self.parse_operand())
        if self.is_kw("ASC", "DESC"):
            item.descending = self.advance().upper == "DESC"
        if self.is_kw("NULLS"):
            self.advance()
            if not self.is_kw("FIRST", "LAST"):
                raise self.error()
            item.nulls_last = self.advance().upper == "LAST"
        return item

    # conditions: SOQL refuses AND and OR mixed at one level without parentheses
    def parse_condition(self) -> Condition:
        first = self.parse_unary()
        if not self.is_kw("AND", "OR"):
            return first
        op = self.tok.upper
        items = [first]
        while self.is_kw(op):
            self.advance()
            items.append(self.parse_unary())
        if self.is_kw("AND", "OR"):
            raise self.error()
        return AndOr(op, items)

    def parse_unary(self) -> Condition:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.parse_unary())
        if self.is_punct("("):
            self.advance()
            cond = self.parse_condition()
            self.expect_punct(")")
            return cond
        return self.parse_comparison()

    def parse_comparison(self) -> Compare:
        lhs = self.parse_operand()
        t = self.tok
        if t.kind == "op":
            self.advance()
            op = "!=" if t.value == "<>" else t.value
            return Compare(lhs, op, self.parse_value(), t)
        if self.is_kw("LIKE"):
            self.advance()
            return Compare(lhs, "LIKE", self.parse_value(), t)
        if self.is_kw("NOT") and self.peek().kind == "ident" and self.peek().upper == "IN":
            self.advance()
            self.advance()
            return Compare(lhs, "NOT IN", self.parse_in_list(), t)
        if self.is_kw("IN"):
            self.advance()
            return Compare(lhs, "IN", self.parse_in_list(), t)
        if self.is_kw("INCLUDES", "EXCLUDES"):
            self.advance()
            vals = self.parse_in_list(allow_subquery=False)
            assert isinstance(vals, list)  # noqa: S101 - narrowing, guaranteed by the flag
            return Compare(lhs, t.upper, vals, t)
        raise self.error()

    def parse_in_list(self, allow_subquery: bool = True) -> list[Literal] | SubQuery:
        open_tok = self.expect_punct("(")
        if allow_subquery and self.is_kw("SELECT"):
            sub = self.parse_query(nested=True)
            self.expect_punct(")")
            return SubQuery(sub, open_tok.row, open_tok.col)
        values = [self.parse_value()]
        while self.is_punct(","):
            self.advance()
            values.append(self.parse_value())
        self.expect_punct(")")
        return values

    def parse_value(self) -> Literal:
        t = self.tok
        if t.kind == "string":
            self.advance()
            return Literal("string", t.value, t, like_value=t.like_value)
        if t.kind == "number":
            self.advance()
            num: float | int = float(t.value) if any(c in t.value for c in ".eE") else int(t.value)
            return Literal("number", num, t)
        if t.kind in ("date", "datetime"):
            self.advance()
            return Literal(t.kind, t.value, t)
        if t.kind == "ident":
            word = t.upper
            if word == "NULL":
                self.advance()
                return Literal("null", None, t)
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", t)
            if word in DATE_LITERALS:
                self.advance()
                return Literal("dateliteral", word, t)
            if word in N_DATE_LITERALS:
                self.advance()
                self.expect_punct(":")
                n_tok = self.tok
                if n_tok.kind != "number" or not n_tok.value.isdigit():
                    raise self.error()
                self.advance()
                return Literal("dateliteral", word, t, n=int(n_tok.value))
        raise self.error()


def parse(text: str) -> Query:
    """Parse SOQL text into a :class:`Query` (raises :class:`SoqlError` MALFORMED_QUERY)."""
    return _Parser(text).parse_query()
