"""SOQL tokens for the demo org: the tokenizer, SOQL's reserved words and date literals, and
:class:`SoqlError` with Salesforce's positioned message layout (see :func:`format_error`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DATE_LITERALS",
    "N_DATE_LITERALS",
    "RESERVED",
    "SoqlError",
    "Token",
    "format_error",
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
_HEX = frozenset("0123456789abcdefABCDEF")


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
            code = text[i + 2 : i + 6]
            if nxt == "u" and len(code) == 4 and all(c in _HEX for c in code):
                # "\uXXXX: a Unicode character with XXXX as the code" (Quoted String Escape
                # Sequences, developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/
                # sforce-api-calls-soql-select-quotedstringescapes.html)
                char = chr(int(code, 16))
                out.append(char)
                like.append("\\" + char if char in ("%", "_", "\\") else char)  # literal
                i += 6
                continue
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
