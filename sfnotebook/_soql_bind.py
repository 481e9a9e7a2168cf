"""Binding Python values into SOQL, so that every value keeps its meaning.

Used by ``query``, ``query_iter`` and ``extract`` (``params=``) and by the ``%%soql`` magic (the
notebook's variables). The syntax, the same in both:

* ``:name`` outside string literals becomes one complete SOQL literal. A colon right after a
  date literal that takes a number (``LAST_N_DAYS:30``, ``N_WEEKS_AGO:2``) is that literal's,
  never a bind; ``LAST_N_DAYS:n`` is refused (write the number, or compare with a bound date).
  Colons inside string literals (``'10:30'``) and before digits (``T10:30:00Z``) stay as they are.
* ``{name}`` outside string literals is the same as ``:name``; inside a string literal it inserts
  the escaped text only, and ``{name:like}`` also escapes LIKE's ``%`` and ``_``
  (``Name LIKE '{prefix:like}%'``). ``{{`` and ``}}`` are literal braces.
* Names may be dotted (``:cfg.region`` reads ``values["cfg"].region``).

Values and their literals: ``str`` -> ``'...'`` escaped per Salesforce's "Quoted String Escape
Sequences" (developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/
sforce-api-calls-soql-select-quotedstringescapes.html); ``bool`` -> ``true``/``false``; ``int``,
finite ``float`` and ``Decimal`` -> plain digits (never exponent notation); ``date`` ->
``YYYY-MM-DD``; a time-zone-aware ``datetime`` with whole seconds -> UTC ``YYYY-MM-DDThh:mm:ssZ``
(the formats of "Date Formats and Date Literals"); ``None`` -> ``null``; a non-empty list, tuple
or set of one kind of these -> ``(a,b)`` for ``IN``. numpy and pandas scalars, arrays, Series
and Index count as the Python values they hold.

Refused with :class:`~sfnotebook.errors.SoqlBindError`, because no literal means the same:
NaN, NaT and ``pd.NA`` (pass ``None`` for null), infinities, datetimes without a time zone or
with a fraction of a second (SOQL datetime literals have whole seconds), empty lists, lists of
mixed kinds or holding ``None`` or lists, dicts, bytes and anything else; and with
``params=``, a name the SOQL binds that ``params`` lacks or a ``params`` entry it never uses.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from sfnotebook.errors import SoqlBindError

__all__ = [
    "bind",
    "datetime_text",
    "escape_text",
    "is_finite",
    "is_missing",
    "literal",
    "number_text",
    "plain",
    "with_params",
]

Source = Literal["params", "notebook"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_BRACE = re.compile(r"\{(" + _NAME + r")(?::([A-Za-z]*))?\}")
_COLON = re.compile(r":(" + _NAME + r")")
# The word before a colon: a date literal that takes a number (LAST_N_DAYS:30, N_DAYS_AGO:3).
_WORD_BEFORE = re.compile(r"([A-Za-z0-9_]+)$")
_DATE_N = re.compile(r"(?i)(?:LAST|NEXT)_N_[A-Z_]+|N_[A-Z_]+_AGO")

# "Quoted String Escape Sequences": \n \r \t \f \" \' \\ are listed; \b is listed as "Bell"
# (backspace in the translated guides), so the code of every other control character is
# written as \uXXXX, which the same table defines, to leave no doubt.
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\f": "\\f",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LIKE = {"%": "\\%", "_": "\\_"}

_KINDS = (
    "str, int, float, Decimal, bool, None, date, time-zone-aware datetime, or a list of one kind"
)


# ------------------------------------------------------------------------------ values


def escape_text(text: str, *, like: bool = False) -> str:
    """``text`` escaped for the inside of a SOQL string literal (LIKE's ``%``/``_`` too)."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _CONTROL.match(ch):
            out.append(f"\\u{ord(ch):04x}")
        elif like and ch in _LIKE:
            out.append(_LIKE[ch])
        else:
            out.append(ch)
    return "".join(out)


def literal(name: str, value: Any) -> str:
    """The SOQL literal for ``value`` (bound as ``name``), or :class:`SoqlBindError`."""
    value = plain(value)
    if isinstance(value, list):
        return _list_literal(name, value)
    return _scalar_literal(name, value)


def _scalar_literal(name: str, value: Any) -> str:
    if value is None:
        return "null"
    if is_missing(value):  # before the datetime test: pandas' NaT is a datetime
        raise _missing(name, value)
    if isinstance(value, str):
        return "'" + escape_text(value) + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return _number(name, value)
    if isinstance(value, dt.datetime):
        return _datetime(name, value)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    raise _unquotable(name, value)


def _list_literal(name: str, items: list[Any]) -> str:
    if not items:
        raise SoqlBindError(
            f"{name} is an empty list; SOQL's IN (...) needs at least one value "
            "(skip the condition when there is nothing to match).",
            name=name,
        )
    kinds = set()
    for item in items:
        if item is None:
            raise SoqlBindError(
                f"{name} holds None; SOQL's IN (...) takes values only. Drop it and add "
                f"'OR Field = null' for the nulls.",
                name=name,
            )
        if isinstance(item, list):
            raise SoqlBindError(f"{name} holds a list inside the list; flatten it.", name=name)
        kinds.add(_kind(item))
    if len(kinds) > 1:
        raise SoqlBindError(
            f"{name} mixes {', '.join(sorted(kinds))} values; a SOQL IN (...) list compares "
            "one field with values of one type.",
            name=name,
        )
    return "(" + ",".join(_scalar_literal(name, item) for item in items) + ")"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return type(value).__name__


def _number(name: str, value: int | float | Decimal) -> str:
    if is_missing(value):
        raise _missing(name, value)
    if not is_finite(value):
        raise _infinite(name, value)
    return number_text(value)


def is_finite(value: int | float | Decimal) -> bool:
    """Whether a number has digits (not NaN, not an infinity)."""
    return isinstance(value, int) or Decimal(value).is_finite()


def number_text(value: int | float | Decimal) -> str:
    """A finite number in plain digits: never exponent notation, ``-0`` as ``0``."""
    if isinstance(value, int):
        return str(int(value))  # int(): an IntEnum's str() may be its name
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest digits that round-trip
    return "0" if value == 0 else format(value, "f")


def datetime_text(value: dt.datetime) -> str:
    """A time-zone-aware datetime in UTC, whole seconds: ``YYYY-MM-DDThh:mm:ssZ``."""
    utc = value.astimezone(dt.timezone.utc)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def _datetime(name: str, value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise SoqlBindError(
            f"{name} is a datetime without a time zone; SOQL compares instants, so say which: "
            "value.replace(tzinfo=datetime.timezone.utc), or tz_localize(...) for pandas.",
            name=name,
        )
    nanos = getattr(value, "nanosecond", 0)
    if value.microsecond or nanos:
        raise SoqlBindError(
            f"{name} has a fraction of a second ({value.isoformat()}); SOQL datetime literals "
            "have whole seconds. Round it first, e.g. value.replace(microsecond=0).",
            name=name,
        )
    return datetime_text(value)


def _missing(name: str, value: Any) -> SoqlBindError:
    return SoqlBindError(
        f"{name} is {value!r}, a missing value; SOQL has no NaN. Pass None to compare with "
        "null, or drop the condition.",
        name=name,
    )


def _infinite(name: str, value: Any) -> SoqlBindError:
    return SoqlBindError(f"{name} is {value!r}; SOQL numbers are finite.", name=name)


def _unquotable(name: str, value: Any) -> SoqlBindError:
    what = type(value).__name__
    article = "an" if what[:1].lower() in ("a", "e", "i", "o", "u") else "a"
    return SoqlBindError(
        f"{name} is {article} {what}, which has no SOQL literal (use {_KINDS}).",
        name=name,
    )


def plain(value: Any) -> Any:
    """numpy / pandas values -> the Python values they hold (arrays and Series -> lists)."""
    if value is None or isinstance(value, str | bool | int | float | Decimal | dt.date):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        # A set has no order: sort its literals so the same set always gives the same SOQL.
        items = [plain(v) for v in value]
        return sorted(items, key=lambda v: (_kind(v), repr(v))) if items else []
    module = type(value).__module__.split(".")[0]
    if module in ("numpy", "pandas"):
        return _plain_array(value)
    return value


def _plain_array(value: Any) -> Any:
    if is_missing(value):
        return value
    if getattr(getattr(value, "dtype", None), "kind", None) == "M":
        import pandas as pd

        # numpy's tolist() turns datetime64[ns] into integers: go through pandas.
        if getattr(value, "ndim", 0):
            return [plain(v) for v in pd.Series(value).tolist()]
        return pd.Timestamp(value).to_pydatetime(warn=False)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # arrays, Series, Index and numpy scalars
        converted = tolist()
        return [plain(v) for v in converted] if isinstance(converted, list) else converted
    return value


def is_missing(value: Any) -> bool:
    """NaN (float or Decimal), pandas' NA and NaT: a missing value, not a value."""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, Decimal):
        return value.is_nan()
    # pandas' NA and NaT, recognised without importing pandas
    return type(value).__name__ in ("NAType", "NaTType")


def _inline(name: str, value: Any, spec: str) -> str:
    """A value inside a quoted SOQL string: its escaped text, no quotes."""
    value = plain(value)
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise SoqlBindError(
            f"{name} is {value!r}; inside a quoted string only text, a number or a date fits. "
            f"Bind it outside the quotes (:{name}).",
            name=name,
        )
    if is_missing(value):
        raise _missing(name, value)
    if isinstance(value, int | float | Decimal):
        text = _number(name, value)
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        raise _unquotable(name, value)
    return escape_text(text, like=spec == "like")


# ------------------------------------------------------------------------------ the scanner


class _Binder:
    """One pass over the SOQL text: literals copied, binds replaced, names recorded."""

    def __init__(self, soql: str, values: Mapping[str, object], source: Source) -> None:
        self.soql = soql
        self.values = values
        self.source = source
        self.used: set[str] = set()

    def resolve(self, name: str) -> Any:
        head, *attrs = name.split(".")
        if head not in self.values:
            where = (
                "is not defined in the notebook"
                if self.source == "notebook"
                else "is not in params="
                + (
                    f" (it holds {', '.join(map(repr, sorted(self.values)))})"
                    if self.values
                    else ""
                )
            )
            raise SoqlBindError(f"The SOQL binds {name!r}, but {head!r} {where}.", name=name)
        self.used.add(head)
        value = self.values[head]
        for attr in attrs:
            try:
                value = getattr(value, attr)
            except AttributeError:
                raise SoqlBindError(
                    f"The SOQL binds {name!r}, but it has no attribute {attr!r}.", name=name
                ) from None
        return value

    def run(self) -> str:
        soql, out, i, n = self.soql, [], 0, len(self.soql)
        while i < n:
            ch = soql[i]
            if ch == "'":
                end, text = self.string(i + 1)
                out.append("'" + text + "'")
                i = end + 1
            elif soql.startswith(("{{", "}}"), i):
                out.append(ch)
                i += 2
            elif ch == "{" and (m := _BRACE.match(soql, i)):
                out.append(self.brace_outside(m.group(1), m.group(2) or ""))
                i = m.end()
            elif ch == ":" and (m := _COLON.match(soql, i)):
                self.check_not_date_literal(i, m.group(1))
                out.append(literal(m.group(1), self.resolve(m.group(1))))
                i = m.end()
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def check_not_date_literal(self, at: int, name: str) -> None:
        word = _WORD_BEFORE.search(self.soql, 0, at)
        if word and _DATE_N.fullmatch(word.group(1)):
            raise SoqlBindError(
                f"{word.group(1)}:{name}: a date literal takes a whole number "
                f"({word.group(1)}:30), which cannot be bound. Write the number, or compare "
                "with a bound date (CreatedDate >= :since).",
                name=name,
            )

    def brace_outside(self, name: str, spec: str) -> str:
        _check_spec(name, spec)
        value = self.resolve(name)
        if spec == "like":
            return "'" + _inline(name, value, spec) + "'"
        return literal(name, value)

    def string(self, i: int) -> tuple[int, str]:
        """Read a quoted literal from after its opening quote; its closing quote and its text."""
        soql, parts, n = self.soql, [], len(self.soql)
        while i < n:
            ch = soql[i]
            if ch == "\\" and i + 1 < n:
                parts.append(soql[i : i + 2])
                i += 2
            elif ch == "'":
                return i, "".join(parts)
            elif soql.startswith(("{{", "}}"), i):
                parts.append(ch)
                i += 2
            elif ch == "{" and (m := _BRACE.match(soql, i)):
                spec = m.group(2) or ""
                _check_spec(m.group(1), spec)
                parts.append(_inline(m.group(1), self.resolve(m.group(1)), spec))
                i = m.end()
            else:
                parts.append(ch)
                i += 1
        raise SoqlBindError(
            "The SOQL has a string literal without its closing quote ('); write a quote "
            "inside a string as \\'.",
            argument="soql",
        )


def _check_spec(name: str, spec: str) -> None:
    if spec not in ("", "like"):
        raise SoqlBindError(
            f"{{{name}:{spec}}}: unknown format; use {{{name}}} or {{{name}:like}}.", name=name
        )


def bind(soql: str, values: Mapping[str, object], *, source: Source = "params") -> str:
    """``soql`` with every ``:name`` / ``{name}`` replaced by the literal of its value.

    Parameters
    ----------
    soql
        SOQL text with binds (see the module's docstring for the syntax).
    values
        The values by name: ``params=`` of a verb, or the notebook's namespace.
    source
        ``"params"``: every name must be in ``values`` and every entry of ``values`` used.
        ``"notebook"``: names are looked up in the namespace; unused entries are fine.

    Raises
    ------
    SoqlBindError
        A missing or unused name, a value with no SOQL literal of the same meaning, or an
        unterminated string literal.

    Examples
    --------
    >>> bind("SELECT Id FROM Account WHERE Name = :n", {"n": "O'Brien"})
    "SELECT Id FROM Account WHERE Name = 'O\\\\'Brien'"
    >>> bind("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:30 AND Status IN :s",
    ...      {"s": ["Open", "New"]})
    "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:30 AND Status IN ('Open','New')"
    """
    if not isinstance(soql, str):
        raise SoqlBindError(f"The SOQL must be a str, not {type(soql).__name__}.", argument="soql")
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        raise SoqlBindError(
            f"params must be a dict of {{name: value}} with str names, not {values!r}."
            if not isinstance(values, Mapping)
            else "params must have str names (the :name in the SOQL).",
        )
    binder = _Binder(soql, values, source)
    bound = binder.run()
    if source == "params":
        unused = sorted(set(values) - binder.used)
        if unused:
            raise SoqlBindError(
                f"params= has {', '.join(map(repr, unused))}, which the SOQL does not bind. "
                f"Use :{unused[0]} in the SOQL, or drop it from params.",
                name=unused[0],
            )
    return bound


def with_params(soql: str, params: Mapping[str, object] | None) -> str:
    """A verb's SOQL with its ``params=`` bound; without ``params`` the SOQL as written."""
    if params is None:
        if not isinstance(soql, str):
            raise SoqlBindError(
                f"The SOQL must be a str, not {type(soql).__name__}.", argument="soql"
            )
        return soql
    return bind(soql, params)
