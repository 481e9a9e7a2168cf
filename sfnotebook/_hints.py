""" "Did you mean ...?" for an unknown field or object, from the connection's describes.

Salesforce's ``INVALID_FIELD`` names the column and the object (``No such column 'Nmae' on
entity 'Account'``) and ``INVALID_TYPE`` the object (``sObject type 'Acount' is not
supported``), but not what the user meant. The object's describe (cached per connection:
``org.describe``, usually already loaded by the query's own column plan) and the org's object
list (``/sobjects``, fetched once per connection, on the first unknown object only) hold the
names to compare with; :mod:`difflib` picks the close ones. A hint is a courtesy: when it
cannot be had (the describe fails, the connection is closed) the error stays as it was.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from sfnotebook.errors import InvalidFieldError, InvalidTypeError, SfNotebookError

__all__ = ["add_hint", "close_matches"]

_NO_SUCH_COLUMN = re.compile(r"No such column '([A-Za-z0-9_.]+)' on entity '([A-Za-z0-9_]+)'")
_NO_SUCH_TYPE = re.compile(r"sObject type '([A-Za-z0-9_]+)' is not supported")


def close_matches(word: str, names: list[str], *, n: int = 3) -> list[str]:
    """Names close to ``word``, best first, compared without case (``nmae`` -> ``Name``).

    Only the names about as close as the best one (within 0.1 of its similarity) are kept:
    for ``Acount``, ``Account`` and not also ``Contact``.
    """
    by_lower = {name.lower(): name for name in names}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=0.6)
    if not found:
        return []
    score = [difflib.SequenceMatcher(None, word.lower(), f).ratio() for f in found]
    return [by_lower[f] for f, r in zip(found, score, strict=True) if r >= score[0] - 0.1]


def _suggest(close: list[str]) -> str:
    if len(close) == 1:
        return f"Did you mean {close[0]}?"
    return f"Did you mean {', '.join(close[:-1])} or {close[-1]}?"


def add_hint(conn: Any, error: SfNotebookError) -> SfNotebookError:
    """``error`` with a "Did you mean ...?" line when the describes know a close name.

    Sets ``close_matches`` on an :class:`InvalidFieldError` or
    :class:`InvalidTypeError`; never raises.
    """
    if not isinstance(error, InvalidFieldError | InvalidTypeError):
        return error
    text = getattr(error, "sf_message", None) or ""
    try:
        close = _field_matches(conn, text) if isinstance(error, InvalidFieldError) else None
        if isinstance(error, InvalidTypeError):
            close = _object_matches(conn, text)
    except SfNotebookError:
        return error  # no describe to compare with: the message stays as Salesforce's
    if close:
        error.close_matches = tuple(close)
        error.message += "\n" + _suggest(close)
        error.args = (error.message,)
    return error


def _field_matches(conn: Any, text: str) -> list[str]:
    found = _NO_SUCH_COLUMN.search(text)
    if found is None:
        return []
    column, entity = found.group(1), found.group(2)
    describe = conn.describe(entity)
    names = [str(f.get("name")) for f in describe.get("fields", []) if f.get("name")]
    # A parent path (Acount.Name): the relationship names are what the user typed.
    names += [
        str(f["relationshipName"]) for f in describe.get("fields", []) if f.get("relationshipName")
    ]
    return close_matches(column.split(".")[0], names)


def _object_matches(conn: Any, text: str) -> list[str]:
    found = _NO_SUCH_TYPE.search(text)
    if found is None:
        return []
    return close_matches(found.group(1), _object_names(conn))


def _object_names(conn: Any) -> list[str]:
    """The org's object names (``GET /sobjects``), once per connection."""
    cache = conn._sobject_names

    def fetch() -> list[str]:
        answer = conn.get_json("sobjects", expect=dict, fields={"sobjects": list})
        return [str(o["name"]) for o in answer["sobjects"] if isinstance(o, dict) and o.get("name")]

    names: list[str] = cache.get("", fetch)
    return names
