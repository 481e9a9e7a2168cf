"""Reading one CSV cell of a Bulk API 2.0 ingest job as Salesforce does, and its row errors.

Cell rules (Bulk API 2.0 "Valid CSV Record Rows", developer.salesforce.com
api_asynch/datafiles_csv_valid_record_rows.htm): values are not trimmed; an empty cell leaves
the field as it is (on insert: not set); ``#N/A`` sets it to null. Dates are ``yyyy-MM-dd``;
datetimes ``yyyy-MM-ddTHH:mm:ss.SSS+/-HH:mm`` or ``...Z`` (datafiles_date_format.htm); booleans
``true``/``false`` (``1``/``0`` too, as Data Loader sends them).

Row errors travel in the ``sf__Error`` column as ``CODE:message:fields --`` (``CODE:message:--``
without fields), the form seen in real failed-results files, e.g.
``REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`` and
``DUPLICATE_VALUE:duplicate value found: X__c duplicates value on record with id: 500...:--``.
The message texts are those real orgs send (observed in published result files and API
answers): ``Account ID: id value of incorrect type: ...`` (MALFORMED_ID), ``Last Name: data
value too large: ... (max length=80)`` (STRING_TOO_LONG), ``Level: bad value for restricted
picklist field: ...``, ``Failed to deserialize field at col 3. Due to, 'x' is not a valid
value for the type xsd:date`` (INVALID_FIELD, col counted from 0), ``Amount: value not of
required type: abc`` (INVALID_TYPE_ON_FIELD_IN_RECORD).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from sfnotebook_demo.data.model import Field

__all__ = ["NULL", "RowError", "parse_cell"]

NULL = "#N/A"
_INT_RE = re.compile(r"[+-]?\d+")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})Z?")
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})"
)
_TIME_RE = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?")
_ID_RE = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}
_XSD = {
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
}
_TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox",
     "encryptedstring"}
)  # fmt: skip


@dataclass
class RowError(Exception):
    """A row's failure: Salesforce's status code, message and the fields it names."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def sf_error(self) -> str:
        """The ``sf__Error`` cell: ``CODE:message:fields --``."""
        fields = ",".join(self.fields)
        return f"{self.code}:{self.message}:{fields + ' ' if fields else ''}--"


def parse_cell(f: Field, text: str, col: int) -> Any:
    """The stored value of a non-empty, non-``#N/A`` cell for field ``f``, or a RowError."""
    if f.type in _TEXT_TYPES:
        return _text(f, text)
    if f.type in ("id", "reference"):
        if not _ID_RE.fullmatch(text):
            raise RowError(
                "MALFORMED_ID", f"{f.label}: id value of incorrect type: {text}", (f.name,)
            )
        return text
    if f.type == "boolean":
        low = text.lower()
        if low in _TRUE or low in _FALSE:
            return 1 if low in _TRUE else 0
        raise _not_deserialized(f, text, col)
    if f.type == "int":
        if not _INT_RE.fullmatch(text):
            raise _wrong_type(f, text)
        value = int(text)
        if f.digits and len(str(abs(value))) > f.digits:
            raise _out_of_range(f, text)
        return value
    if f.type in ("double", "currency", "percent"):
        return _number(f, text)
    if f.type == "date":
        m = _DATE_RE.fullmatch(text)
        if not m or not _valid_date(m):
            raise _not_deserialized(f, text, col)
        return text[:10]
    if f.type == "datetime":
        return _datetime(f, text, col)
    if f.type == "time":
        m = _TIME_RE.fullmatch(text)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3)) > 59:
            raise _not_deserialized(f, text, col)
        return f"{m.group(1)}:{m.group(2)}:{m.group(3)}.{(m.group(4) or '0').ljust(3, '0')}Z"
    return text


def _text(f: Field, text: str) -> str:
    if f.length and len(text) > f.length:
        raise RowError(
            "STRING_TOO_LONG", f"{f.label}: data value too large: {text} (max length={f.length})",
            (f.name,),
        )  # fmt: skip
    if f.restricted_picklist and f.picklist_values:
        parts = text.split(";") if f.type == "multipicklist" else [text]
        if any(p not in f.picklist_values for p in parts):
            raise RowError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {text}",
                (f.name,),
            )
    if f.type == "email" and not _EMAIL_RE.fullmatch(text):
        raise RowError(
            "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {text}", (f.name,)
        )
    return text


def _number(f: Field, text: str) -> float:
    if not _NUMBER_RE.fullmatch(text):
        raise _wrong_type(f, text)
    value = float(text)
    if not math.isfinite(value):
        raise _wrong_type(f, text)
    whole = f.precision - f.scale if f.precision else 0
    if whole and abs(value) >= 10.0**whole:
        raise _out_of_range(f, text)
    return value


def _datetime(f: Field, text: str, col: int) -> str:
    m = _DATETIME_RE.fullmatch(text)
    if not m:
        raise _not_deserialized(f, text, col)
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    millis = int((m.group(7) or "0").ljust(3, "0"))
    zone = m.group(8)
    offset = dt.timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        local = dt.datetime(year, month, day, hour, minute, second, millis * 1000)
    except ValueError:
        raise _not_deserialized(f, text, col) from None
    utc = local - offset
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def _valid_date(m: re.Match[str]) -> bool:
    try:
        dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False
    return True


def _not_deserialized(f: Field, text: str, col: int) -> RowError:
    xsd = _XSD.get(f.type, "xsd:string")
    return RowError(
        "INVALID_FIELD",
        f"Failed to deserialize field at col {col}. Due to, '{text}' is not a valid value for "
        f"the type {xsd}",
        (f.name,),
    )


def _wrong_type(f: Field, text: str) -> RowError:
    return RowError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {text}",
        (f.name,),
    )  # fmt: skip


def _out_of_range(f: Field, text: str) -> RowError:
    return RowError(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{f.label}: value outside of valid range on numeric field: {text}",
        (f.name,),
    )
