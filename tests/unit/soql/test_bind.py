"""The SOQL binder behind ``params=`` and the magics: every value keeps its meaning."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import pytest

from sfnotebook._soql_bind import bind, escape_text, literal
from sfnotebook.errors import InvalidArgumentError, SfNotebookError, SoqlBindError

UTC = dt.timezone.utc
PARIS = dt.timezone(dt.timedelta(hours=2))


class Color(enum.IntEnum):
    RED = 1


# ----------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme", "'Acme'"),
        ("O'Brien", "'O\\'Brien'"),
        ('say "hi"', "'say \\\"hi\\\"'"),
        ("back\\slash", "'back\\\\slash'"),
        ("a\nb\rc\td\fe", "'a\\nb\\rc\\td\\fe'"),
        ("bell\x07 bs\x08 nul\x00 del\x7f", "'bell\\u0007 bs\\u0008 nul\\u0000 del\\u007f'"),
        ("50%_off", "'50%_off'"),  # LIKE wildcards are plain characters outside LIKE
        ("café 東京 🚀", "'café 東京 🚀'"),
        ("", "''"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (0, "0"),
        (-42, "-42"),
        (10**30, "1" + "0" * 30),
        (Color.RED, "1"),
        (2.5, "2.5"),
        (-0.0, "0"),
        (1e20, "100000000000000000000"),
        (1e-7, "0.0000001"),
        (0.1, "0.1"),
        (Decimal("12.340"), "12.340"),
        (Decimal("1E+3"), "1000"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (dt.date(1, 1, 1), "0001-01-01"),
        (dt.datetime(2024, 1, 31, 8, 30, tzinfo=UTC), "2024-01-31T08:30:00Z"),
        (dt.datetime(2024, 1, 31, 8, 30, tzinfo=PARIS), "2024-01-31T06:30:00Z"),
        (["a", "b'c"], "('a','b\\'c')"),
        (("x",), "('x')"),
        ({"b", "a"}, "('a','b')"),
        (frozenset({3, 1, 2}), "(1,2,3)"),
        ([1, 2.5, Decimal("3")], "(1,2.5,3)"),
        ([dt.date(2024, 1, 1), dt.date(2024, 2, 1)], "(2024-01-01,2024-02-01)"),
    ],
)
def test_literals(value: Any, expected: str) -> None:
    assert literal("v", value) == expected


def test_like_escaping_adds_percent_and_underscore() -> None:
    assert escape_text("50%_off'", like=True) == "50\\%\\_off\\'"
    assert escape_text("50%_off'") == "50%_off\\'"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (float("nan"), "missing value"),
        (Decimal("NaN"), "missing value"),
        (float("inf"), "finite"),
        (Decimal("-Infinity"), "finite"),
        (dt.datetime(2024, 1, 1), "without a time zone"),
        (dt.datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=UTC), "whole seconds"),
        ([], "empty list"),
        (set(), "empty list"),
        (["a", None], "holds None"),
        (["a", ["b"]], "list inside the list"),
        (["a", 1], "mixes number, str"),
        ({"a", 1}, "mixes number, str"),
        ([True, 1], "mixes bool, number"),
        ([dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=UTC)], "mixes date, datetime"),
        ({"k": "v"}, "a dict, which has no SOQL literal"),
        (b"bytes", "a bytes, which has no SOQL literal"),
        (dt.time(10, 30), "a time, which has no SOQL literal"),
        (object(), "an object, which has no SOQL literal"),
    ],
)
def test_values_without_a_literal_are_refused(value: Any, words: str) -> None:
    with pytest.raises(SoqlBindError, match=words) as info:
        literal("v", value)
    assert info.value.name == "v"
    assert isinstance(info.value, InvalidArgumentError | ValueError | SfNotebookError)


def test_numpy_and_pandas_values() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")

    assert literal("v", np.int64(7)) == "7"
    assert literal("v", np.float32(0.5)) == "0.5"
    assert literal("v", np.bool_(True)) == "true"
    assert literal("v", pd.Series(["a", "b"])) == "('a','b')"
    assert literal("v", pd.Index([1, 2])) == "(1,2)"
    assert literal("v", np.array([1, 2])) == "(1,2)"
    assert literal("v", pd.Timestamp("2024-05-01 10:00", tz="UTC")) == "2024-05-01T10:00:00Z"
    utc = pd.Series(np.array(["2024-05-01T10:00"], dtype="datetime64[s]")).dt.tz_localize("UTC")
    assert literal("v", utc) == "(2024-05-01T10:00:00Z)"
    for missing in (np.nan, pd.NaT, pd.NA, np.datetime64("NaT")):
        with pytest.raises(SoqlBindError, match="missing value"):
            literal("v", missing)
    with pytest.raises(SoqlBindError, match="without a time zone"):
        literal("v", np.array(["2024-05-01T10:00"], dtype="datetime64[ns]"))
    with pytest.raises(SoqlBindError, match="whole seconds"):
        literal("v", pd.Timestamp("2024-05-01 10:00:00.000000001", tz="UTC"))


# ----------------------------------------------------------------------------- the syntax


@pytest.mark.parametrize(
    ("names", "soql", "expected"),
    [
        ("n", "WHERE Name = :n", "WHERE Name = 'O\\'Brien'"),
        ("n", "WHERE Name=:n", "WHERE Name='O\\'Brien'"),
        ("n", "WHERE Name = {n}", "WHERE Name = 'O\\'Brien'"),
        ("ids", "WHERE Id IN:ids", "WHERE Id IN('a','b')"),
        ("ids", "WHERE Id IN :ids", "WHERE Id IN ('a','b')"),
        ("cfg", "WHERE Region = :cfg.region", "WHERE Region = 'EMEA'"),
        ("p", "WHERE Name LIKE '{p:like}%'", "WHERE Name LIKE '50\\%\\_off%'"),
        ("p", "WHERE Name LIKE {p:like}", "WHERE Name LIKE '50\\%\\_off'"),
        ("n", "WHERE Name = 'Mr {n}'", "WHERE Name = 'Mr O\\'Brien'"),
        ("k", "WHERE Amount = '{k}'", "WHERE Amount = '3'"),
        # Colons the binder must leave alone: date literals, times, and inside strings.
        ("", "WHERE D = LAST_N_DAYS:30", "WHERE D = LAST_N_DAYS:30"),
        ("", "WHERE D = N_WEEKS_AGO:2 AND E = NEXT_N_FISCAL_QUARTERS:1",
         "WHERE D = N_WEEKS_AGO:2 AND E = NEXT_N_FISCAL_QUARTERS:1"),
        ("", "WHERE D > 2024-01-01T10:30:00Z AND E < 2024-01-01T10:30:00+05:00",
         "WHERE D > 2024-01-01T10:30:00Z AND E < 2024-01-01T10:30:00+05:00"),
        ("", "WHERE S = 'at 10:30 :n {{x}}'", "WHERE S = 'at 10:30 :n {x}'"),
        ("", "WHERE S = 'it\\'s :n'", "WHERE S = 'it\\'s :n'"),
        ("n", "WHERE D = LAST_N_DAYS:30 AND Name = :n", "WHERE D = LAST_N_DAYS:30 AND Name = 'O\\'Brien'"),
        ("", "WHERE X = '{'", "WHERE X = '{'"),
    ],
)  # fmt: skip
def test_syntax(names: str, soql: str, expected: str) -> None:
    class Cfg:
        region = "EMEA"

    values = {"n": "O'Brien", "ids": ["a", "b"], "cfg": Cfg(), "p": "50%_off", "k": 3}
    assert bind(soql, {k: v for k, v in values.items() if k in names.split()}) == expected


def test_a_bound_value_is_never_scanned_again() -> None:
    assert bind("WHERE A = :a AND B = :b", {"a": ":b {b}", "b": "x"}) == (
        "WHERE A = ':b {b}' AND B = 'x'"
    )


def test_an_injection_stays_one_literal() -> None:
    injection = "x' OR Name LIKE '%"
    soql = bind("SELECT Id FROM Account WHERE Name = :name", {"name": injection})
    assert soql == "SELECT Id FROM Account WHERE Name = 'x\\' OR Name LIKE \\'%'"
    body = soql.split("= ", 1)[1][1:-1]
    assert all(body[i - 1] == "\\" for i, ch in enumerate(body) if ch == "'")


@pytest.mark.parametrize(
    ("soql", "params", "words", "name"),
    [
        ("WHERE Name = :nmae", {"name": "x"}, "'nmae' is not in params= \\(it holds 'name'\\)",
         "nmae"),
        ("WHERE Name = :name", {}, "'name' is not in params=\\.", "name"),
        ("WHERE Name = :name", {"name": "x", "since": 1}, "'since', which the SOQL does not bind",
         "since"),
        ("SELECT Id FROM Account", {"unused": 1}, "Use :unused in the SOQL", "unused"),
        ("WHERE D = LAST_N_DAYS:n", {"n": 30}, "LAST_N_DAYS:n: a date literal takes a whole",
         "n"),
        ("WHERE D = n_days_ago:n", {"n": 3}, "n_days_ago:n: a date literal", "n"),
        ("WHERE Name = {n:upper}", {"n": "x"}, "unknown format", "n"),
        ("WHERE Name = '{n}'", {"n": None}, "inside a quoted string", "n"),
        ("WHERE Name = '{n}'", {"n": ["a"]}, "inside a quoted string", "n"),
        ("WHERE Name = '{n}'", {"n": float("nan")}, "missing value", "n"),
        ("WHERE Name = :n.nope", {"n": "x"}, "no attribute 'nope'", "n.nope"),
        ("WHERE Name = 'open :n", {"n": "x"}, "without its closing quote", None),
    ],
)  # fmt: skip
def test_bind_errors(soql: str, params: dict[str, Any], words: str, name: str | None) -> None:
    with pytest.raises(SoqlBindError, match=words) as info:
        bind(soql, params)
    assert info.value.name == name


@pytest.mark.parametrize("params", [["a"], "name=x", {1: "x"}, None])
def test_params_must_be_a_dict_with_str_names(params: Any) -> None:
    with pytest.raises(SoqlBindError, match="params must"):
        bind("SELECT Id FROM Account", params)


def test_notebook_source_ignores_unused_names_and_says_notebook() -> None:
    assert bind("WHERE A = :a", {"a": 1, "other": object()}, source="notebook") == "WHERE A = 1"
    with pytest.raises(SoqlBindError, match="'b' is not defined in the notebook"):
        bind("WHERE A = :b", {"a": 1}, source="notebook")
