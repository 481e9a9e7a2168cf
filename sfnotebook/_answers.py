"""The edge: every answer of a core endpoint is decoded and its shape checked here, once.

A 2xx answer that is not what the endpoint sends (an HTML login or proxy page, an empty,
truncated or ``null`` body, an error array, a list where an object belongs) becomes an
:class:`~sfnotebook.errors.UnexpectedAnswerError` naming the endpoint and the status, showing
the start of the body with secrets and tokens masked, and saying what to do. Nothing of
``orjson``, ``msgspec``, ``requests`` or a ``KeyError`` escapes from the core endpoints.

Token answers are decoded with their ``access_token`` (and ``signature``) wrapped in a
:class:`~sfnotebook._secret.Secret` before any check runs, so no frame holds them in clear.

One shape check serves every JSON endpoint: ``expect`` (the top-level type) and ``fields`` (the
keys the client reads, with their types; ``None`` among the types makes a key optional), given
to :func:`decode_json` or to ``Connection.get_json``. CSV answers (Bulk API 2.0 result pages)
go through :func:`check_csv`, which looks at the Content-Type and the first and last bytes only.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import orjson
import requests

from sfnotebook._api import Fields
from sfnotebook._secret import Secret, redact
from sfnotebook.errors import UnexpectedAnswerError

__all__ = [
    "BODY_START",
    "Body",
    "check_csv",
    "decode_describe",
    "decode_identity",
    "decode_json",
    "decode_limits",
    "decode_versions",
    "unexpected",
]

BODY_START = 200  # characters of the body an error message shows

_HINT_PAGE = (
    "A proxy or login page answered instead of Salesforce: check SF_DOMAIN is the org's My "
    "Domain (e.g. acme.my.salesforce.com), and that no proxy or captive portal intercepts HTTPS."
)
_HINT_CUT = (
    "The answer was cut short (a proxy, a dropped connection, or Salesforce under load): "
    "retry; if it keeps happening, check what sits between you and Salesforce."
)
_HINT_SHAPE = (
    "This does not look like Salesforce's answer: check SF_DOMAIN is the org's My Domain "
    "(and SF_API_VERSION, if set)."
)
_WRAP_NOTHING: tuple[str, ...] = ()

Data: TypeAlias = bytes | bytearray | mmap.mmap  # a streamed page: sfnotebook.bulk._buffer


class Body(bytearray):
    """A streamed answer's bytes (a result page). Its repr shows only their size, so a
    traceback printed with its locals shows neither the page nor a token it might echo."""

    def __repr__(self) -> str:
        return f"<{len(self):,} bytes of an answer>"


def decode_json(
    resp: requests.Response,
    *,
    endpoint: str,
    expect: type | tuple[type, ...] | None = None,
    fields: Fields | None = None,
    items: Fields | None = None,
    secrets: Iterable[Secret | None] = (),
    wrap: tuple[str, ...] = _WRAP_NOTHING,
) -> Any:
    """The decoded JSON of a 2xx answer, or an :class:`UnexpectedAnswerError`.

    ``expect`` is the type the top level must have (``dict``, ``list``); ``fields`` the keys
    an object must carry (see :data:`sfnotebook._api.Fields`), ``items`` those every object
    of an array must carry; ``secrets`` are masked in the message;
    top-level keys in ``wrap`` become :class:`Secret` as decoded.
    """
    masked = tuple(secrets)
    data = _loads(resp, endpoint, masked, wrap)
    if fields:
        expect = dict
    elif items:
        expect = list
    error = _value_error(resp, endpoint, data, expect, masked)
    if error is None and fields:
        error = _field_error(resp, endpoint, data, fields, masked)
    if error is None and items:
        error = _item_error(resp, endpoint, data, items, masked)
    if error is not None:
        del data  # it may echo a token: no frame of the traceback keeps the answer
        raise error
    return data


# The checks return their error rather than raise it: their frames, which hold the decoded
# answer, are then gone from the traceback (a traceback printed with locals shows none of it).


def _value_error(
    resp: requests.Response,
    endpoint: str,
    data: Any,
    expect: type | tuple[type, ...] | None,
    secrets: tuple[Secret | None, ...],
    body: Data | None = None,
) -> UnexpectedAnswerError | None:
    """``null``, an error array, or a top level of another type than ``expect``."""
    if data is None:
        return unexpected(resp, endpoint, "a JSON null", _HINT_SHAPE, secrets, body=body)
    if _is_error_array(data):
        code = str(data[0].get("errorCode"))
        message = redact(str(data[0].get("message") or ""), secrets)
        return unexpected(
            resp,
            endpoint,
            f"an error array ({code}: {message[:200]})",
            "Salesforce, or something in front of it, reported an error in a success "
            "answer: act on the error above, or retry if it names no cause.",
            secrets,
            error_code=code,
            sf_message=message,
            body=body,
        )
    if expect is not None and not isinstance(data, expect):
        what = f"a JSON {_kind(data)} where {_names(expect)} belongs"
        return unexpected(resp, endpoint, what, _HINT_SHAPE, secrets, body=body)
    return None


def _field_error(
    resp: requests.Response,
    endpoint: str,
    data: dict[str, Any],
    fields: Fields,
    secrets: tuple[Secret | None, ...],
    *,
    where: str = "an object",
) -> UnexpectedAnswerError | None:
    """A key of ``fields`` missing from ``data``, or of another type."""
    for key, allowed in fields.items():
        types = allowed if isinstance(allowed, tuple) else (allowed,)
        value = data.get(key)
        if value is None and None in types:
            continue
        if key not in data:
            what = f"{where} without {key!r} (keys: {', '.join(sorted(data)[:12]) or 'none'})"
            return unexpected(resp, endpoint, what, _HINT_SHAPE, secrets)
        if not _is_one_of(value, types):
            what = f"{where} whose {key!r} is a JSON {_kind(value)} where {_names(types)} belongs"
            return unexpected(resp, endpoint, what, _HINT_SHAPE, secrets)
    return None


def _item_error(
    resp: requests.Response,
    endpoint: str,
    data: list[Any],
    items: Fields,
    secrets: tuple[Secret | None, ...],
) -> UnexpectedAnswerError | None:
    """An item of ``data`` that is no object, or lacks a key of ``items``."""
    for position, item in enumerate(data):
        if not isinstance(item, dict):
            what = f"an array whose item {position} is a JSON {_kind(item)} where an object belongs"
            return unexpected(resp, endpoint, what, _HINT_SHAPE, secrets)
        error = _field_error(resp, endpoint, item, items, secrets, where=f"item {position}")
        if error is not None:
            return error
    return None


def _is_one_of(value: Any, types: tuple[type | None, ...]) -> bool:
    """JSON typing: ``true`` is no number, and a whole number is no string."""
    if isinstance(value, bool):
        return bool in types
    return any(t is not None and t is not bool and isinstance(value, t) for t in types)


def _loads(
    resp: requests.Response,
    endpoint: str,
    secrets: tuple[Secret | None, ...],
    wrap: tuple[str, ...],
) -> Any:
    """Decode without keeping the body in a local; wrap the secret keys at once."""
    if not resp.content.strip():
        raise unexpected(resp, endpoint, "an empty body", _HINT_CUT, secrets)
    if _looks_like_html(resp, resp.content):
        raise unexpected(resp, endpoint, "an HTML page", _HINT_PAGE, secrets)
    try:
        data = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        data = _UNDECODABLE
    if data is _UNDECODABLE:  # raised outside the except block: no decoder frames chained
        raise unexpected(resp, endpoint, "a body that is not JSON (truncated?)", _HINT_CUT, secrets)
    if wrap and isinstance(data, dict):
        for key in wrap:
            if isinstance(data.get(key), str):
                data[key] = Secret(data[key])
    return data


_UNDECODABLE = object()


def unexpected(
    resp: requests.Response,
    endpoint: str,
    what: str,
    hint: str,
    secrets: Iterable[Secret | None] = (),
    *,
    error_code: str | None = None,
    sf_message: str | None = None,
    body: Data | None = None,
) -> UnexpectedAnswerError:
    """The error for an answer that is not what ``endpoint`` sends.

    ``body`` is the answer's body when it was streamed (``resp.content`` then is gone).
    """
    start = body_start(resp, secrets, body=body)
    content_type = resp.headers.get("Content-Type")
    path = urlsplit(resp.url or "").path or None
    message = (
        f"The {endpoint} answer ({resp.status_code}"
        f"{', ' + content_type if content_type else ''}) was {what}.\n{hint}"
        f"\nBody starts: {start!r}"
    )
    return UnexpectedAnswerError(
        message,
        endpoint=endpoint,
        status=resp.status_code,
        error_code=error_code,
        url=path,
        sf_message=sf_message,
        content_type=content_type,
        body_start=start,
    )


def body_start(
    resp: requests.Response, secrets: Iterable[Secret | None] = (), *, body: Data | None = None
) -> str:
    """The first :data:`BODY_START` characters of the body, whitespace folded, secrets masked."""
    content = resp.content if body is None else body
    text = bytes(content[: BODY_START * 4]).decode("utf-8", "replace")
    return redact(" ".join(text.split()), secrets)[:BODY_START]


def _looks_like_html(resp: requests.Response, content: Data) -> bool:
    content_type = resp.headers.get("Content-Type", "").lower()
    if "html" in content_type or "xml" in content_type:
        return True
    return content[:_SNIFF].lstrip()[:1] == b"<"


_SNIFF = 64  # leading bytes looked at to tell HTML or JSON from CSV


def _is_error_array(data: Any) -> bool:
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(item, dict) and "errorCode" in item for item in data)
    )


def _kind(data: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(data), "number")


_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a whole number"}
_NAMES |= {bool: "a boolean", float: "a number"}


def _names(expect: type | tuple[type | None, ...]) -> str:
    types = expect if isinstance(expect, tuple) else (expect,)
    return " or ".join(_NAMES.get(t, str(t)) for t in types if t is not None)


# -- CSV answers --------------------------------------------------------------------------------

# A Content-Type naming one of these is not a CSV page. The documentation gives a result page's
# format as "CSV" and shows no Content-Type value (developer.salesforce.com/docs/atlas.en-us.
# api_asynch.meta/api_asynch/query_get_job_results.htm), so a type is refused only when it
# names something else, never for not being exactly ``text/csv``.
_NOT_CSV_TYPES = ("json", "html", "xml", "javascript")
_JSON_WORDS = (b"null", b"true", b"false")


def check_csv(resp: requests.Response, body: Data, *, endpoint: str) -> None:
    """Refuse a 2xx answer that is not a CSV page: an HTML page, a JSON value (``null``, an
    error array, an object), a Content-Type that names another format, or a body cut mid-row.

    Only the Content-Type and the first and last bytes are looked at, never the rows: a result
    page may be hundreds of megabytes. An empty body passes (no rows; the caller compares the
    row counts). A body cut at a row boundary is found by the caller's row counts; one cut
    inside its last row only here: a row cut inside its last value still parses, quoted or
    not, and the count still agrees, so only the missing final line ending shows it.

    That the last row ends with the job's line ending (LF or CRLF, both end in ``\\n``) is
    what CSV writers do and what the demo org does; Salesforce's sample page
    (developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/
    query_get_job_results.htm) does not show the end of a page: UNVERIFIED on a real org.
    Were it wrong, every extract would fail here at once and loudly, never lose a value.
    """
    error = _csv_error(resp, body, endpoint)
    if error is not None:
        del body  # it may echo a token: no frame of the traceback keeps the page
        raise error


def _csv_error(resp: requests.Response, body: Data, endpoint: str) -> UnexpectedAnswerError | None:
    head = bytes(body[:_SNIFF]).lstrip()
    if head[:1] in (b"{", b"[") or (len(body) <= 16 and bytes(body).strip() in _JSON_WORDS):
        return _json_in_csv(resp, body, endpoint)
    if _looks_like_html(resp, head):
        return unexpected(resp, endpoint, "an HTML page", _HINT_PAGE, body=body)
    content_type = resp.headers.get("Content-Type", "").lower()
    if any(word in content_type for word in _NOT_CSV_TYPES):
        what = f"a {content_type.split(';')[0].strip()} body where CSV belongs"
        return unexpected(resp, endpoint, what, _HINT_SHAPE, body=body)
    if body and body[-1:] != b"\n":
        what = "a CSV page cut short (its last row has no line ending)"
        return unexpected(resp, endpoint, what, _HINT_CUT, body=body)
    return None


def _json_in_csv(resp: requests.Response, body: Data, endpoint: str) -> UnexpectedAnswerError:
    """A JSON body where CSV belongs: say what it was (an error array names its code)."""
    try:
        data = orjson.loads(memoryview(body))  # orjson takes no bytearray subclass (Body)
    except orjson.JSONDecodeError:
        data = _UNDECODABLE
    if data is _UNDECODABLE:
        return unexpected(
            resp, endpoint, "a body that is neither CSV nor JSON", _HINT_CUT, body=body
        )
    error = _value_error(resp, endpoint, data, None, (), body=body)
    what = f"a JSON {_kind(data)} where CSV belongs"
    return error or unexpected(resp, endpoint, what, _HINT_SHAPE, body=body)


# -- per-endpoint shapes -----------------------------------------------------------------------


def decode_versions(resp: requests.Response) -> list[str]:
    """``GET /services/data/``: the versions the org offers, oldest first (``["31.0", ...]``)."""
    endpoint = "API versions (/services/data/)"
    listing = decode_json(resp, endpoint=endpoint, expect=list)
    offered: list[str] = []
    for item in listing:
        version = item.get("version") if isinstance(item, dict) else None
        if not isinstance(version, str) or not _is_number(version):
            raise unexpected(resp, endpoint, "a list without API versions in it", _HINT_SHAPE)
        offered.append(version)
    if not offered:
        raise unexpected(resp, endpoint, "an empty list of API versions", _HINT_SHAPE)
    return sorted(offered, key=float)


def decode_identity(resp: requests.Response) -> dict[str, Any]:
    """The identity URL's answer: an object about the Run As user."""
    ident: dict[str, Any] = decode_json(resp, endpoint="identity", expect=dict)
    return ident


def decode_limits(resp: requests.Response) -> dict[str, dict[str, int]]:
    """``/limits``: ``{"DailyApiRequests": {"Max": .., "Remaining": ..}, ...}`` with ints.

    Entries that are not objects are skipped; ``Max``/``Remaining`` may be strings (very old
    versions sent them so) but must be whole numbers.
    """
    raw = decode_json(resp, endpoint="limits", expect=dict)
    limits: dict[str, dict[str, int]] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        most, remaining = _count(entry.get("Max", 0)), _count(entry.get("Remaining", 0))
        if most is None or remaining is None:
            raise unexpected(
                resp, "limits", f"an entry {name!r} without whole Max and Remaining", _HINT_SHAPE
            )
        limits[name] = {"Max": most, "Remaining": remaining}
    return limits


def decode_describe(resp: requests.Response, sobject: str) -> dict[str, Any]:
    """``/sobjects/{name}/describe``: an object with a ``fields`` list of named fields."""
    endpoint = f"describe {sobject}"
    describe: dict[str, Any] = decode_json(resp, endpoint=endpoint, expect=dict)
    fields = describe.get("fields")
    if not isinstance(fields, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields
    ):
        raise unexpected(resp, endpoint, "an object without a list of fields", _HINT_SHAPE)
    return describe


def _count(value: Any) -> int | None:
    """A whole number, from an int or its string (old API versions), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
