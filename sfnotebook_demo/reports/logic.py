"""Report filter logic (``reportBooleanFilter``) and the error type of the demo reports API.

Private to the demo reports feature. Logic uses 1-based filter numbers with ``AND``, ``OR``,
``NOT`` and parentheses (spaces optional: ``(1OR4)AND2``); mixing AND and OR at one level
without parentheses, unknown numbers and unreferenced filters are errors, as on Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["Node", "ReportError", "evaluate_logic", "logic_sql", "parse_logic"]


class ReportError(Exception):
    """A request the Reports API refuses: HTTP status, errorCode and message."""

    def __init__(self, message: str, *, status: int = 400, error_code: str = "BAD_REQUEST"):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


# --- boolean filter logic ---------------------------------------------------------------------

# An expression tree: ("f", n) | ("not", node) | ("and", [nodes]) | ("or", [nodes]).
Node = tuple[Any, ...]

_TOKEN = re.compile(r"\s*(?:(\d+)|(AND|OR|NOT)|([()]))", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ReportError(f"The filter logic is invalid: unexpected text at {text[pos:]!r}.")
        out.append((m.group(1) or m.group(2) or m.group(3)).upper())
        pos = m.end()
    return out


def parse_logic(text: str, n_filters: int) -> Node:
    """Parse a ``reportBooleanFilter`` such as ``"1 AND (2 OR 3)"``.

    Raises
    ------
    ReportError
        400 when the logic is malformed, refers to a filter that does not exist, or leaves a
        filter unreferenced.
    """
    tokens = _tokens(text)
    if not tokens:
        raise ReportError("The filter logic is invalid: it is empty.")
    pos = 0
    seen: set[int] = set()

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ReportError(f"The filter logic is invalid: {text!r} ends unexpectedly.")
        pos += 1
        return tokens[pos - 1]

    def factor() -> Node:
        tok = take()
        if tok == "NOT":
            return ("not", factor())
        if tok == "(":
            node = expr()
            if take() != ")":
                raise ReportError(f"The filter logic is invalid: missing ')' in {text!r}.")
            return node
        if tok.isdigit():
            number = int(tok)
            if not 1 <= number <= n_filters:
                raise ReportError(
                    f"The filter logic references an undefined filter: {number}. "
                    f"The report has {n_filters} filters."
                )
            seen.add(number)
            return ("f", number)
        raise ReportError(f"The filter logic is invalid: unexpected {tok!r} in {text!r}.")

    def expr() -> Node:
        items = [factor()]
        op: str | None = None
        while peek() in ("AND", "OR"):
            this = take()
            if op is not None and this != op:
                raise ReportError(
                    f"The filter logic is invalid: {text!r} mixes AND and OR without parentheses."
                )
            op = this
            items.append(factor())
        if op is None:
            return items[0]
        return (op.lower(), items)

    node = expr()
    if pos != len(tokens):
        raise ReportError(f"The filter logic is invalid: unexpected {tokens[pos]!r} in {text!r}.")
    missing = sorted(set(range(1, n_filters + 1)) - seen)
    if missing:
        raise ReportError(
            "Some filter conditions are defined but not referenced in your filter logic: "
            + ", ".join(str(m) for m in missing)
            + "."
        )
    return node


def evaluate_logic(node: Node, truth: Sequence[bool]) -> bool:
    """Evaluate a parsed logic tree given each filter's truth value (1-based numbering)."""
    kind = node[0]
    if kind == "f":
        return bool(truth[node[1] - 1])
    if kind == "not":
        return not evaluate_logic(node[1], truth)
    items: list[Node] = node[1]
    if kind == "and":
        return all(evaluate_logic(i, truth) for i in items)
    return any(evaluate_logic(i, truth) for i in items)


def logic_sql(node: Node, parts: Sequence[str]) -> str:
    kind = node[0]
    if kind == "f":
        return parts[node[1] - 1]
    if kind == "not":
        return f"(NOT {logic_sql(node[1], parts)})"
    joiner = " AND " if kind == "and" else " OR "
    return "(" + joiner.join(logic_sql(i, parts) for i in node[1]) + ")"
