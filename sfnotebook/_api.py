"""What a wing needs from a connection, and the option types the verbs share.

Every wing (``soql/``, ``reports/``, ``bulk/``) types its connection argument as :class:`OrgApi`
rather than :class:`~sfnotebook.connection.Connection`: the wings then import nothing of the
connection (no import cycle), and the tests' fake orgs satisfy the same protocol (mypy checks
them in ``tests/fakes.py``). :class:`~sfnotebook.connection.Connection` is the one real
implementation; the verbs are its methods (``org.query`` is :func:`sfnotebook.soql.query`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    import requests

    from sfnotebook._session import ApiSession

__all__ = [
    "Dtype",
    "Dtypes",
    "Fields",
    "Frame",
    "Json",
    "JsonObject",
    "JsonValue",
    "OrgApi",
    "Params",
    "Progress",
    "Timeout",
]

#: A decoded JSON answer: dicts, lists, strings, numbers, booleans and None.
Json: TypeAlias = Any

#: A JSON value as Salesforce answers it (what public verbs return for raw JSON).
JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"

#: ``True``/``False``, or ``"auto"``: a progress bar only where someone is watching (a notebook).
Progress: TypeAlias = bool | Literal["auto"]

#: A pandas dtype as ``astype`` accepts it: a name (``"Int64"``, ``"string[pyarrow]"``), a numpy
#: dtype or a pandas extension dtype.
Dtype: TypeAlias = "str | np.dtype[np.generic] | pd.api.extensions.ExtensionDtype"

#: ``{column: dtype}`` overrides of the dtype table; they win.
Dtypes: TypeAlias = "Mapping[str, Dtype]"

#: ``params=`` of the SOQL verbs: ``{name: value}`` for the ``:name`` binds. Values are str, int,
#: float, Decimal, bool, date, time-zone-aware datetime, None, or lists/tuples/sets of one of
#: them (numpy and pandas values count as what they hold); ``:cfg.region`` reads an attribute,
#: so any object may be one. See :mod:`sfnotebook._soql_bind`.
Params: TypeAlias = "Mapping[str, object]"

#: A result table in the library ``output=`` chose: pandas (default), polars or Arrow.
Frame: TypeAlias = "pd.DataFrame | pl.DataFrame | pa.Table"

#: ``(connect, read)`` seconds, or one number for both.
Timeout: TypeAlias = float | tuple[float, float]

#: The keys a JSON object must carry, with their JSON types (``dict``, ``list``, ``str``,
#: ``int``, ``bool``, ``float``); ``None`` among a key's types: it may be absent or null.
#: Checked at the edge by :func:`sfnotebook._answers.decode_json` (``get_json(fields=...)``).
Fields: TypeAlias = Mapping[str, type | tuple[type | None, ...]]


class OrgApi(Protocol):
    """The connection surface the wings use: one org, its API version, and calls to it."""

    @property
    def instance_url(self) -> str:
        """``https://<my-domain>.my.salesforce.com``."""
        ...

    @property
    def api_version(self) -> str:
        """The REST API version in use, e.g. ``"62.0"``."""
        ...

    @property
    def session(self) -> ApiSession:
        """The session: its retry policy is read by the page downloaders."""
        ...

    def url(self, url: str) -> str:
        """Absolute URL for a path relative to the API base, an absolute path, or a URL."""
        ...

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Json = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: Timeout | None = None,
        retry: bool | None = None,
        reauth: bool = True,
    ) -> requests.Response:
        """Send one call; raise the typed :class:`~sfnotebook.errors.SfNotebookError` on >= 400
        (``reauth=False``: a 401 is raised, not answered by a new token exchange)."""
        ...

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        expect: type | tuple[type, ...] | None = None,
        fields: Fields | None = None,
        items: Fields | None = None,
    ) -> Json:
        """GET ``url`` and decode its JSON; ``expect``/``fields``/``items``: its shape."""
        ...

    def describe(self, sobject: str) -> dict[str, Json]:
        """The object's describe, cached per connection."""
        ...
