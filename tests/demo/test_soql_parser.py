"""The demo org's SOQL tokenizer and parser: syntax, literals, and positioned errors."""

from __future__ import annotations

import pytest

from sfnotebook_demo.soql.parser import (
    AndOr,
    Compare,
    FieldPath,
    FuncCall,
    Not,
    SelectField,
    SoqlError,
    SubQuery,
    TypeOf,
    format_error,
    parse,
    tokenize,
)


def test_tokens_carry_row_and_column() -> None:
    tokens = tokenize("SELECT Id\nFROM  Account")
    assert [(t.value, t.row, t.col) for t in tokens] == [
        ("SELECT", 1, 1),
        ("Id", 1, 8),
        ("FROM", 2, 1),
        ("Account", 2, 7),
        ("<EOF>", 2, 14),
    ]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'it\'s'", "it's"),
        (r"'back\\slash'", "back\\slash"),
        (r"'line\nbreak'", "line\nbreak"),
        (r"'tab\there'", "tab\there"),
        (r"'quote\"d'", 'quote"d'),
        ("'naïve café'", "naïve café"),
        (r"'nul\u0000 bell\u0007 \u00e9'", "nul\x00 bell\x07 é"),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    soql = f"SELECT Id FROM Account WHERE Name = {literal}"  # noqa: S608 - SOQL under test
    cond = parse(soql).where
    assert isinstance(cond, Compare)
    assert cond.value.value == value  # type: ignore[union-attr]


def test_like_keeps_escaped_wildcards() -> None:
    cond = parse(r"SELECT Id FROM Account WHERE Name LIKE '50\% off\_%'").where
    assert isinstance(cond, Compare)
    assert cond.value.value == "50% off_%"  # type: ignore[union-attr]
    assert cond.value.like_value == r"50\% off\_%"  # type: ignore[union-attr]


def test_invalid_escape_is_malformed() -> None:
    with pytest.raises(SoqlError) as info:
        parse(r"SELECT Id FROM Account WHERE Name = 'a\qb'")
    assert info.value.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\q'" in info.value.message


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("2024-01-31", "date", "2024-01-31"),
        ("2024-01-31T10:00:00Z", "datetime", "2024-01-31T10:00:00Z"),
        ("2024-01-31T10:00:00.000+02:00", "datetime", "2024-01-31T10:00:00.000+02:00"),
        ("2024-01-31T10:00:00-0500", "datetime", "2024-01-31T10:00:00-0500"),
        ("42", "number", 42),
        ("-1.5", "number", -1.5),
        ("1.5E3", "number", 1500.0),
        ("true", "boolean", True),
        ("FALSE", "boolean", False),
        ("null", "null", None),
        ("TODAY", "dateliteral", "TODAY"),
        ("this_quarter", "dateliteral", "THIS_QUARTER"),
    ],
)
def test_literals(text: str, kind: str, value: object) -> None:
    soql = f"SELECT Id FROM Opportunity WHERE CloseDate = {text}"  # noqa: S608 - SOQL under test
    cond = parse(soql).where
    assert isinstance(cond, Compare)
    assert (cond.value.kind, cond.value.value) == (kind, value)  # type: ignore[union-attr]


def test_n_date_literal_takes_its_argument() -> None:
    cond = parse("SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30").where
    assert isinstance(cond, Compare)
    assert (cond.value.value, cond.value.n) == ("LAST_N_DAYS", 30)  # type: ignore[union-attr]


def test_select_items_of_every_kind() -> None:
    q = parse(
        "SELECT Id, Account.Owner.Name, COUNT(Id) cnt, "
        "TYPEOF What WHEN Account THEN Name, Phone ELSE Name END, "
        "(SELECT LastName FROM Contacts WHERE LastName != null ORDER BY LastName LIMIT 5) "
        "FROM Task"
    )
    kinds = [type(i).__name__ for i in q.select]
    assert kinds == ["SelectField", "SelectField", "SelectField", "TypeOf", "SubQuery"]
    path = q.select[1]
    assert isinstance(path, SelectField) and isinstance(path.expr, FieldPath)
    assert path.expr.parts == ["Account", "Owner", "Name"]
    agg = q.select[2]
    assert isinstance(agg, SelectField) and isinstance(agg.expr, FuncCall)
    assert (agg.expr.name, agg.alias) == ("COUNT", "cnt")
    typeof = q.select[3]
    assert isinstance(typeof, TypeOf)
    assert [w[0] for w in typeof.whens] == ["Account"]
    assert typeof.else_fields is not None and typeof.else_fields[0].parts == ["Name"]
    sub = q.select[4]
    assert isinstance(sub, SubQuery)
    assert (sub.query.from_name, sub.query.limit) == ("Contacts", 5)


def test_clauses() -> None:
    q = parse(
        "SELECT StageName, SUM(Amount) FROM Opportunity WHERE IsClosed = false "
        "GROUP BY StageName HAVING SUM(Amount) > 100 ORDER BY StageName DESC NULLS FIRST, "
        "Name LIMIT 10 OFFSET 20"
    )
    assert [g.text for g in q.group_by if isinstance(g, FieldPath)] == ["StageName"]
    assert isinstance(q.having, Compare)
    assert [(o.descending, o.nulls_last) for o in q.order_by] == [(True, False), (False, None)]
    assert (q.limit, q.offset) == (10, 20)


def test_boolean_structure() -> None:
    q = parse("SELECT Id FROM Account WHERE NOT (Name = 'a' OR Name = 'b') AND Type != null")
    assert isinstance(q.where, AndOr) and q.where.op == "AND"
    assert isinstance(q.where.items[0], Not)
    inner = q.where.items[0].item
    assert isinstance(inner, AndOr) and inner.op == "OR"


def test_in_lists_and_semi_joins() -> None:
    q = parse(
        "SELECT Id FROM Account WHERE Industry NOT IN ('Energy', 'Media') "
        "AND Id IN (SELECT AccountId FROM Contact)"
    )
    assert isinstance(q.where, AndOr)
    first, second = q.where.items
    assert isinstance(first, Compare) and first.op == "NOT IN" and len(first.value) == 2  # type: ignore[arg-type]
    assert isinstance(second, Compare) and isinstance(second.value, SubQuery)


def test_mixing_and_or_without_parentheses_is_refused() -> None:
    text = "SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Type = 'c'"
    with pytest.raises(SoqlError) as info:
        parse(text)
    assert info.value.error_code == "MALFORMED_QUERY"
    assert info.value.message.endswith("unexpected token: 'OR'")


@pytest.mark.parametrize(
    ("text", "row", "col", "token"),
    [
        ("SELECT Id, FROM Account", 1, 12, "FROM"),
        ("SELECT Id FROM Account WHERE", 1, 29, "<EOF>"),
        ("SELECT Id FRM Account", 1, 15, "Account"),
        ("SELECT Id\nFROM Account\nWHERE Name = = 'x'", 3, 14, "="),
        ("SELECT Id FROM Account LIMIT ten", 1, 30, "ten"),
        ("SELECT Id FROM Account ORDER BY Name NULLS MIDDLE", 1, 44, "MIDDLE"),
    ],
)
def test_malformed_query_message_layout(text: str, row: int, col: int, token: str) -> None:
    with pytest.raises(SoqlError) as info:
        parse(text)
    err = info.value
    assert err.error_code == "MALFORMED_QUERY"
    line = text.split("\n")[row - 1]
    assert err.message == (
        f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\nunexpected token: '{token}'"
    )


def test_format_error_matches_salesforce_layout() -> None:
    # Shape of a real INVALID_TYPE body: newline, query, caret under the column, position.
    text = "select count() from XYZZY"
    msg = format_error(text, 1, 21, "detail")
    assert msg == "\nselect count() from XYZZY\n" + " " * 20 + "^\nERROR at Row:1:Column:21\ndetail"
