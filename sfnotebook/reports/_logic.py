"""Report filter logic (``boolean_filter``): its syntax, and the filter numbers it names.

Numbers refer to filter positions, 1-based, the report's saved filters first
(salesforce-api.md 5.7). Salesforce needs parentheses where AND and OR meet, and refuses
"filter conditions [that] are defined but not referenced in your filter logic".
"""

from __future__ import annotations

import re

from sfnotebook.errors import ReportFilterError

__all__ = ["check_logic_syntax", "check_numbers"]

# Spaces are optional: Salesforce's own example is "(1OR4)AND2AND3".
_LOGIC_TOKEN = re.compile(r"\s*(?:(\d+)|(AND|OR|NOT)|([()]))", re.IGNORECASE)


def _logic_tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        m = _LOGIC_TOKEN.match(text, pos)
        if m is None:
            raise ReportFilterError(
                f"boolean_filter {text!r}: unexpected {text[pos:].strip()[:20]!r}; write filter "
                "numbers with AND, OR, NOT and parentheses, e.g. '(1 OR 2) AND 3'.",
                argument="boolean_filter",
            )
        tokens.append((m.group(1) or m.group(2) or m.group(3)).upper())
        pos = m.end()
    return tokens


def check_logic_syntax(text: str) -> list[int]:
    """The filter numbers ``text`` names, or ReportFilterError for logic Salesforce refuses.

    Salesforce needs parentheses where AND and OR meet ("1 AND 2 OR 3" is refused).
    """
    tokens = _logic_tokens(text)
    numbers: list[int] = []
    pos = 0

    def fail(why: str) -> ReportFilterError:
        return ReportFilterError(
            f"boolean_filter {text!r}: {why}; e.g. '(1 OR 2) AND 3'.", argument="boolean_filter"
        )

    def term() -> None:
        nonlocal pos
        tok = tokens[pos] if pos < len(tokens) else ""
        pos += 1
        if tok == "NOT":
            term()
        elif tok == "(":
            expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise fail("a '(' is not closed")
            pos += 1
        elif tok.isdigit():
            numbers.append(int(tok))
        else:
            raise fail(f"expected a filter number, found {tok or 'the end'!r}")

    def expr() -> None:
        nonlocal pos
        term()
        joiner = None
        while pos < len(tokens) and tokens[pos] in ("AND", "OR"):
            if joiner not in (None, tokens[pos]):
                raise fail("AND and OR meet without parentheses")
            joiner = tokens[pos]
            pos += 1
            term()

    expr()
    if pos != len(tokens):
        raise fail(f"unexpected {tokens[pos]!r}")
    return numbers


def check_numbers(text: str, total: int, saved: int) -> None:
    """``text`` must name every one of the ``total`` filters (``saved`` of them the report's), and only those."""
    named = check_logic_syntax(text)
    where = f"{saved} saved in the report, then {total - saved} from filters="
    beyond = sorted({k for k in named if not 1 <= k <= total})
    if beyond:
        raise ReportFilterError(
            f"boolean_filter {text!r} names filter {', '.join(map(str, beyond))}, but there "
            f"are {total} filters ({where}).",
            argument="boolean_filter",
        )
    unnamed = [k for k in range(1, total + 1) if k not in named]
    if unnamed:
        raise ReportFilterError(
            f"boolean_filter {text!r} does not name filter {', '.join(map(str, unnamed))} of "
            f"the {total} ({where}); Salesforce refuses filters left out of the logic.",
            argument="boolean_filter",
        )
