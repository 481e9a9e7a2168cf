"""Salesforce record ids for the demo org: the case-safe suffix and the id generator."""

from __future__ import annotations

__all__ = ["case_safe_suffix", "make_id", "restore_case", "to_18"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# The pod/instance part of every demo id (characters 4-6 of a real id).
_ID_INSTANCE = "Dm0"


def case_safe_suffix(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitive.

    Salesforce's algorithm: for each 5-character chunk, bit ``i`` is set when character ``i``
    is an uppercase A-Z; the 5-bit value indexes ``"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"``.
    """
    if len(id15) != 15:
        raise ValueError(f"expected a 15-character id, got {len(id15)} characters")
    out = []
    for start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_CHARS[bits])
    return "".join(out)


def to_18(id15: str) -> str:
    """The 18-character case-safe form of a 15-character id."""
    return id15 + case_safe_suffix(id15)


_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_UPPER = [1 if "A" <= c <= "Z" else 0 for c in _BASE62]
_PAIR_UPPER = [_UPPER[i // 62] | _UPPER[i % 62] << 1 for i in range(62 * 62)]
_HEADS: dict[tuple[str, int], tuple[str, str]] = {}


def make_id(key_prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record of the object with ``key_prefix``.

    Ids increase with ``number`` in SQLite's binary text order (base-62 digits ``0-9A-Za-z``),
    so ``ORDER BY Id`` is creation order, as on Salesforce.
    """
    # A large odd stride spreads digits so ids mix upper and lower case like real ones.
    n = 10_000_000_000 + number * 7919
    # Characters 1-10 (and the first two suffix characters) change rarely: cache them; the
    # last five digits are built from two-digit tables because this runs once per row.
    hi, lo = divmod(n, 62**5)
    head = _HEADS.get((key_prefix, hi))
    if head is None:
        digits = []
        rest = hi
        for _ in range(4):
            rest, r = divmod(rest, 62)
            digits.append(_BASE62[r])
        first10 = key_prefix + _ID_INSTANCE + "".join(reversed(digits))
        head = (first10, case_safe_suffix(first10 + "00000")[:2])
        _HEADS[(key_prefix, hi)] = head
    q, r1 = divmod(lo, 3844)
    c, r2 = divmod(q, 3844)
    bits = _UPPER[c] | _PAIR_UPPER[r2] << 1 | _PAIR_UPPER[r1] << 3
    return head[0] + _BASE62[c] + _PAIRS[r2] + _PAIRS[r1] + head[1] + _SUFFIX_CHARS[bits]


def restore_case(id18: str) -> str:
    """The exact-case id of an 18-character id given in any case (its suffix encodes the case).

    An id that is not a valid 18-character id comes back unchanged.
    """
    if len(id18) != 18:
        return id18
    suffix = id18[15:].upper()
    chars = list(id18[:15].lower())
    for chunk, flag in enumerate(suffix):
        bits = _SUFFIX_CHARS.find(flag)
        if bits < 0:
            return id18
        for j in range(5):
            if bits >> j & 1:
                chars[chunk * 5 + j] = chars[chunk * 5 + j].upper()
    return "".join(chars) + suffix
