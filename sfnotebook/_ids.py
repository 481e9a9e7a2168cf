"""Salesforce record Ids: the 18-character, case-safe form of a 15-character Id. Pure.

A 15-character Id is case-sensitive (``001A...`` and ``001a...`` are two records); its
18-character form appends three characters that encode the case of the first fifteen, so it
survives case-insensitive tools, and it is what the REST and Bulk APIs return. Report cells of
``id``-typed columns may hold either (fidelity-audit.md D16), so the report wing widens them:
joined with SOQL results, both sides then carry the same 18-character Id.

The algorithm (Salesforce help, "CASESAFEID"; the worked example of converting
``500x000000003TR`` to ``500x000000003TRAAY``): split the Id into three chunks of five
characters; in each, bit ``i`` is set when character ``i`` is an uppercase ``A``-``Z``; the
5-bit number indexes ``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``.
"""

from __future__ import annotations

__all__ = ["to_18", "widen_id"]

_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to_18(id15: str) -> str:
    """The 18-character form of a 15-character Salesforce Id.

    Raises ``ValueError`` for anything that is not 15 letters and digits.
    """
    if len(id15) != 15 or not id15.isascii() or not id15.isalnum():
        raise ValueError(f"a 15-character Salesforce Id is 15 letters and digits, not {id15!r}")
    suffix = []
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix.append(_SUFFIX_CHARS[bits])
    return id15 + "".join(suffix)


def widen_id(value: str) -> str:
    """``value`` as an 18-character Id when it is a 15-character one; unchanged otherwise."""
    if len(value) == 15 and value.isascii() and value.isalnum():
        return to_18(value)
    return value
