"""One input column -> the CSV text Bulk API 2.0 reads for its field, and the rows that cannot
be written. Pure: no I/O.

The text follows Salesforce's rules for ingest data (Bulk API 2.0 "Valid Date Format in
Records" and "Valid CSV Record Rows", developer.salesforce.com/docs/atlas.en-us.api_asynch.meta):
dates ``yyyy-MM-dd``; datetimes ``yyyy-MM-ddTHH:mm:ss.SSSZ`` (written in UTC); times
``HH:mm:ss.SSSZ``; booleans ``true``/``false``; numbers plain decimals (never exponents); text
as it is (values are not trimmed). A missing value (None, NaN, NaT, pd.NA, or an empty string,
which Salesforce stores as null anyway) is ``None`` here: the caller writes ``#N/A`` (set to
null) or an empty cell (leave as is).

A value that does not fit the field (text longer than the field, a picklist value not in a
restricted list, a number with too many digits, a naive datetime whose moment is unknown, a
date with a time of day, an Id of the wrong shape or object) is reported with its reason,
never coerced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NULL_TEXT", "Converted", "to_text"]

NULL_TEXT = "#N/A"
_ID_RE = r"^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$"
_EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_INT_RE = r"^[+-]?\d+$"
_NUMBER_RE = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$"
_TIME_RE = r"^\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z?$"
_TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox",
     "encryptedstring", "id", "reference"}
)  # fmt: skip
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})


@dataclass
class Converted:
    """A column's CSV text (``None`` for missing) and the positions of rows that cannot go."""

    text: list[str | None]
    bad: dict[str, list[int]] = field(default_factory=dict)  # reason -> row positions

    def refuse(self, reason: str, mask: Any) -> None:
        """Record the rows where ``mask`` (an Arrow boolean array) is true, for ``reason``."""
        positions = np.flatnonzero(np.asarray(pc.fill_null(mask, False), dtype=bool)).tolist()
        if positions:
            self.bad.setdefault(reason, []).extend(positions)


def to_text(
    values: pa.Array, describe: dict[str, Any], *, prefixes: tuple[str, ...] = ()
) -> Converted:
    """The CSV text of ``values`` for the field ``describe``; ``prefixes`` are the key prefixes
    a reference may point to (the objects of its ``referenceTo``)."""
    sf_type = str(describe.get("type"))
    values = _plain(values)
    if sf_type in _TEXT_TYPES:
        return _text(values, describe, sf_type, prefixes)
    converter = _CONVERTERS.get(sf_type)
    if converter is None:
        out = Converted([None] * len(values))
        out.refuse(
            f"fields of type {sf_type} cannot be written through Bulk API", pc.is_valid(values)
        )
        return out
    return converter(values, describe)


def _plain(values: pa.Array) -> pa.Array:
    """Dictionary (categorical) columns decoded; empty strings as missing."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if pa.types.is_large_list(values.type) and pa.types.is_large_string(values.type.value_type):
        values = values.cast(pa.list_(pa.string()))  # polars' lists of text
    if pa.types.is_list(values.type) and pa.types.is_large_string(values.type.value_type):
        values = values.cast(pa.list_(pa.string()))
    if pa.types.is_string(values.type):
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    return values


def _finish(text: pa.Array, out: Converted) -> Converted:
    out.text = text.to_pylist()
    return out


def _type_refused(values: pa.Array, what: str) -> Converted:
    out = Converted([None] * len(values))
    out.refuse(f"{what}, not {values.type}", pc.is_valid(values))
    return out


# --------------------------------------------------------------------------- text


def _text(
    values: pa.Array, describe: dict[str, Any], sf_type: str, prefixes: tuple[str, ...]
) -> Converted:
    if pa.types.is_list(values.type) and sf_type == "multipicklist":
        values = pc.binary_join(values, ";")
    elif pa.types.is_integer(values.type) and sf_type not in ("id", "reference"):
        values = pc.cast(values, pa.string())
    elif not pa.types.is_string(values.type) and not pa.types.is_null(values.type):
        return _type_refused(values, "text is needed")
    values = values.cast(pa.string())
    out = Converted([])
    out.refuse(
        f"the text {NULL_TEXT!r} cannot be written: Bulk API reads it as null",
        pc.equal(values, NULL_TEXT),
    )
    length = int(describe.get("length") or 0)
    if length and sf_type not in ("id", "reference"):
        out.refuse(
            f"longer than the field's {length:,} characters",
            pc.greater(pc.utf8_length(values), length),
        )
    if sf_type in ("id", "reference"):
        _ids(values, prefixes, out)
    if sf_type == "email":
        out.refuse("not an email address", pc.invert(pc.match_substring_regex(values, _EMAIL_RE)))
    if sf_type in ("picklist", "multipicklist") and describe.get("restrictedPicklist"):
        _picklist(values, describe, sf_type, out)
    return _finish(values, out)


def _ids(values: pa.Array, prefixes: tuple[str, ...], out: Converted) -> None:
    shaped = pc.match_substring_regex(values, _ID_RE)
    out.refuse("not a record Id (15 or 18 letters and digits)", pc.invert(shaped))
    if prefixes:
        starts = pc.utf8_slice_codeunits(values, 0, 3)
        wrong = pc.and_(shaped, pc.invert(pc.is_in(starts, pa.array(list(prefixes)))))
        names = ", ".join(f"{p}..." for p in prefixes)
        out.refuse(f"an Id of another object (this field takes {names})", wrong)


def _picklist(values: pa.Array, describe: dict[str, Any], sf_type: str, out: Converted) -> None:
    allowed = [
        str(v.get("value"))
        for v in describe.get("picklistValues") or []
        if isinstance(v, dict) and v.get("active", True)
    ]
    if sf_type == "multipicklist":
        parts = pc.split_pattern(values, ";")
        flat = pc.list_flatten(parts)
        owners = pc.list_parent_indices(parts)
        bad_parts = pc.invert(pc.is_in(flat, pa.array(allowed, pa.string())))
        rows = np.zeros(len(values), dtype=bool)
        rows[np.asarray(owners)[np.asarray(bad_parts, dtype=bool)]] = True
        mask: Any = pa.array(rows)
    else:
        mask = pc.invert(pc.is_in(values, pa.array(allowed, pa.string())))
    out.refuse("not a value of this restricted picklist", pc.and_(pc.is_valid(values), mask))


# --------------------------------------------------------------------------- other types


def _boolean(values: pa.Array, describe: dict[str, Any]) -> Converted:
    out = Converted([])
    if pa.types.is_boolean(values.type):
        flags = values
    elif pa.types.is_string(values.type):
        low = pc.utf8_lower(values)
        known = pc.is_in(low, pa.array(["true", "false"]))
        out.refuse('not a boolean (True/False, or the text "true"/"false")', pc.invert(known))
        flags = pc.equal(low, "true")
    elif pa.types.is_integer(values.type):
        out.refuse(
            "not a boolean (an integer other than 0 or 1)",
            pc.invert(pc.is_in(values, pa.array([0, 1]))),
        )
        flags = pc.equal(values, 1)
    elif pa.types.is_null(values.type):
        flags = values.cast(pa.bool_())
    else:
        return _type_refused(values, "a boolean is needed")
    text = pc.if_else(flags, "true", "false")
    return _finish(text, out)


def _floats(values: pa.Array, out: Converted) -> pa.Array | None:
    """``values`` as float64 (NaN as missing), or None when the type cannot be a number."""
    if pa.types.is_string(values.type):
        out.refuse("not a number", pc.invert(pc.match_substring_regex(values, _NUMBER_RE)))
        ok = pc.if_else(
            pc.match_substring_regex(values, _NUMBER_RE), values, pa.scalar(None, pa.string())
        )
        return pc.cast(ok, pa.float64())
    if (
        pa.types.is_integer(values.type)
        or pa.types.is_floating(values.type)
        or pa.types.is_decimal(values.type)
    ):
        floats = pc.cast(values, pa.float64())
        out.refuse("not a finite number (infinity)", pc.is_inf(floats))
        return pc.if_else(
            pc.or_(pc.is_nan(floats), pc.is_inf(floats)), pa.scalar(None, pa.float64()), floats
        )
    if pa.types.is_null(values.type):
        return values.cast(pa.float64())
    return None


def _digits_check(floats: pa.Array, whole: int, out: Converted) -> None:
    if whole > 0:
        out.refuse(
            f"too large for the field (at most {whole} digits before the decimal point)",
            pc.greater_equal(pc.abs(floats), 10.0**whole),
        )


def _number(values: pa.Array, describe: dict[str, Any]) -> Converted:
    out = Converted([])
    floats = _floats(values, out)
    if floats is None:
        return _type_refused(values, "a number is needed")
    precision, scale = int(describe.get("precision") or 0), int(describe.get("scale") or 0)
    _digits_check(floats, precision - scale if precision else 0, out)
    if pa.types.is_decimal(values.type) or pa.types.is_string(values.type):
        text = values if pa.types.is_string(values.type) else None
        if text is None:
            out.text = [None if v is None else _decimal_text(v) for v in values.to_pylist()]
            return out
        valid = pc.match_substring_regex(text, _NUMBER_RE)
        return _finish(pc.if_else(valid, text, pa.scalar(None, pa.string())), out)
    if pa.types.is_integer(values.type):
        return _finish(pc.cast(values, pa.string()), out)
    out.text = [None if v is None else _float_text(v) for v in floats.to_pylist()]
    return out


def _float_text(value: float) -> str:
    """A plain decimal (``1e+20`` is ``100000000000000000000``), shortest round-trip digits."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = np.format_float_positional(value, trim="-")
    return text[:-2] if text.endswith(".0") else text


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _integer(values: pa.Array, describe: dict[str, Any]) -> Converted:
    out = Converted([])
    if pa.types.is_integer(values.type):
        ints = values
    else:
        floats = _floats(values, out)
        if floats is None:
            return _type_refused(values, "a whole number is needed")
        whole = pc.equal(pc.floor(floats), floats)
        out.refuse("not a whole number", pc.invert(whole))
        ints = pc.cast(pc.if_else(whole, floats, pa.scalar(None, pa.float64())), pa.int64())
    digits = int(describe.get("digits") or 0)
    if digits:
        out.refuse(
            f"too large for the field (at most {digits} digits)",
            pc.greater_equal(pc.abs(pc.cast(ints, pa.float64())), 10.0**digits),
        )
    return _finish(pc.cast(ints, pa.string()), out)


def _date(values: pa.Array, describe: dict[str, Any]) -> Converted:
    out = Converted([])
    if pa.types.is_date(values.type):
        return _finish(pc.cast(values, pa.string()), out)
    if pa.types.is_timestamp(values.type):
        if values.type.tz is not None:
            return _type_refused(values, "a date is needed (this column holds moments in time)")
        day = pc.cast(values, pa.date32())
        midnight = pc.equal(
            pc.cast(pc.cast(day, pa.timestamp(values.type.unit)), pa.int64()),
            pc.cast(values, pa.int64()),
        )
        out.refuse(
            "a date with a time of day: keep only the date (.dt.normalize())", pc.invert(midnight)
        )
        return _finish(pc.cast(day, pa.string()), out)
    if pa.types.is_string(values.type):
        return _checked_text(values, _DATE_RE, "not a date written yyyy-mm-dd", out)
    if pa.types.is_null(values.type):
        return _finish(values.cast(pa.string()), out)
    return _type_refused(values, "a date is needed")


def _datetime(values: pa.Array, describe: dict[str, Any]) -> Converted:
    out = Converted([])
    if pa.types.is_timestamp(values.type):
        if values.type.tz is None:
            out.refuse(
                "a datetime without a time zone, whose moment is unknown: localize it first "
                "(df[col].dt.tz_localize('UTC'), or your zone)",
                pc.is_valid(values),
            )
            return Converted([None] * len(values), out.bad)
        utc = pc.cast(values, pa.timestamp("ms", tz="UTC"))
        stamp = pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S")
        return _finish(pc.binary_join_element_wise(stamp, "Z", ""), out)
    if pa.types.is_string(values.type):
        return _checked_text(
            values,
            _DATETIME_RE,
            "not a datetime written yyyy-mm-ddThh:mm:ss with Z or an offset",
            out,
        )
    if pa.types.is_null(values.type):
        return _finish(values.cast(pa.string()), out)
    return _type_refused(values, "a datetime with a time zone is needed")


def _time(values: pa.Array, describe: dict[str, Any]) -> Converted:
    out = Converted([])
    if pa.types.is_duration(values.type):
        millis = pc.cast(pc.cast(values, pa.duration("ms")), pa.int64())
        day = 86_400_000
        out.refuse(
            "not a time of day (a duration under 24 hours is needed)",
            pc.or_(pc.less(millis, 0), pc.greater_equal(millis, day)),
        )
        clock = pc.cast(pc.cast(pc.cast(millis, pa.int32()), pa.time32("ms")), pa.string())
        return _finish(pc.binary_join_element_wise(clock, "Z", ""), out)
    if pa.types.is_time(values.type):
        clock = pc.cast(pc.cast(values, pa.time32("ms")), pa.string())
        return _finish(pc.binary_join_element_wise(clock, "Z", ""), out)
    if pa.types.is_string(values.type):
        return _checked_text(values, _TIME_RE, "not a time written hh:mm:ss", out)
    if pa.types.is_null(values.type):
        return _finish(values.cast(pa.string()), out)
    return _type_refused(values, "a time of day is needed")


def _checked_text(values: pa.Array, pattern: str, reason: str, out: Converted) -> Converted:
    ok = pc.match_substring_regex(values, pattern)
    out.refuse(reason, pc.invert(ok))
    return _finish(pc.if_else(ok, values, pa.scalar(None, pa.string())), out)


_CONVERTERS: dict[str, Callable[[pa.Array, dict[str, Any]], Converted]] = {
    "boolean": _boolean,
    "int": _integer,
    "long": _integer,
    "double": _number,
    "currency": _number,
    "percent": _number,
    "date": _date,
    "datetime": _datetime,
    "time": _time,
}
