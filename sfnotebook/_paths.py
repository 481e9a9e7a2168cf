"""Strings that become one segment of a URL path, checked first.

``org.describe("Account/../limits")`` or ``job_results("750.../../x")`` must never reach
another resource, and a ``?`` or ``#`` must never cut the path short. Each segment is checked
against the shape Salesforce gives it (an API name, a record Id) and refused with
:class:`~sfnotebook.errors.InvalidArgumentError` before any request: an encoded slash would
only move the problem to whatever sits between us and Salesforce.
"""

from __future__ import annotations

import re

from sfnotebook.errors import InvalidArgumentError

__all__ = ["api_name", "is_record_id", "record_id"]

# Record Ids: 15 case-sensitive or 18 case-insensitive letters and digits, the first three the
# object's key prefix (report Ids 00O, report instances 0LG: salesforce-api.md 5; bulk jobs 750).
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
# API names of objects: a letter, then letters, digits and underscores (Account, ns__Thing__c).
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def is_record_id(value: object, prefix: str = "") -> bool:
    """Whether ``value`` has the shape of a record Id (starting with ``prefix``)."""
    return isinstance(value, str) and bool(_ID.fullmatch(value)) and value.startswith(prefix)


def record_id(value: object, *, argument: str, what: str, prefix: str | None = None) -> str:
    """``value`` if it is a record Id (with ``prefix``, when given), else InvalidArgumentError."""
    if isinstance(value, str) and is_record_id(value, prefix or ""):
        return value
    shape = f"{prefix}..., " if prefix else ""
    raise InvalidArgumentError(
        f"{argument}={value!r} is not {what} ({shape}15 or 18 letters and digits). "
        "Copy the Id again; nothing was sent.",
        argument=argument,
    )


def api_name(value: object, *, argument: str, what: str) -> str:
    """``value`` if it is an API name (``Account``, ``Invoice__c``), else InvalidArgumentError."""
    if isinstance(value, str) and _API_NAME.fullmatch(value):
        return value
    raise InvalidArgumentError(
        f"{argument}={value!r} is not {what}: API names are a letter, then letters, digits "
        "and underscores (Account, Invoice__c). Nothing was sent.",
        argument=argument,
    )
