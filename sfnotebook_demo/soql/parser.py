"""SOQL recursive-descent parser for the demo org (syntax only, no schema).

The parser turns SOQL text into the small AST of :mod:`sfnotebook_demo.soql.syntax`;
:mod:`sfnotebook_demo.soql.engine` resolves it against the schema. Syntax errors are raised as
:class:`SoqlError` (:mod:`sfnotebook_demo.soql.tokens`) with ``MALFORMED_QUERY`` and
Salesforce's message layout: the query row echoed, a caret line, ``ERROR at Row:r:Column:c``
and ``unexpected token: 'X'``. The AST classes, :class:`SoqlError`, :func:`format_error` and
:func:`tokenize` are re-exported here.
"""

from __future__ import annotations

from sfnotebook_demo.soql.syntax import (
    AndOr,
    Compare,
    Condition,
    FieldPath,
    FuncCall,
    Literal,
    Not,
    OrderItem,
    Query,
    SelectField,
    SubQuery,
    TypeOf,
)
from sfnotebook_demo.soql.tokens import (
    DATE_LITERALS,
    N_DATE_LITERALS,
    RESERVED,
    SoqlError,
    Token,
    format_error,
    tokenize,
)

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
