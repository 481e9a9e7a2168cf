"""The one fake org of the unit tests: the :class:`~sfnotebook._api.OrgApi` surface, in memory.

Tests subclass :class:`FakeOrg` and override :meth:`FakeOrg.answer`; mypy checks (in
``_conforms`` below) that the fake still satisfies the protocol the wings are typed against, so
a wing that starts using more of the connection breaks the type check, not a test at random.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import requests

from sfnotebook import errors
from sfnotebook._answers import decode_json
from sfnotebook._api import Fields, Json, JsonObject, OrgApi, Timeout
from sfnotebook._session import ApiSession

__all__ = ["FakeOrg"]


class FakeOrg:
    """An org answering from :meth:`answer`: a JSON-able body, raw bytes, or an exception."""

    instance_url = "https://fake.my.salesforce.com"
    api_version = "62.0"

    def __init__(self, describes: Mapping[str, JsonObject] | None = None) -> None:
        self.session = ApiSession()
        self.describes = {k.lower(): v for k, v in (describes or {}).items()}

    def answer(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None,
        json: Json,
        headers: Mapping[str, str] | None,
    ) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not answer {method} {url}")

    def url(self, url: str) -> str:
        if url.startswith("https://"):
            return url
        if url.startswith("/"):
            return self.instance_url + url
        return f"{self.instance_url}/services/data/v{self.api_version}/{url}"

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
        body = self.answer(method, url, params=params, json=json, headers=headers)
        if isinstance(body, BaseException):
            raise body
        response = requests.Response()
        response.status_code = 200
        response._content = body if isinstance(body, bytes) else orjson.dumps(body)
        return response

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
        resp = self.request("GET", url, params=params, headers=headers)
        endpoint = f"GET {url}"
        return decode_json(resp, endpoint=endpoint, expect=expect, fields=fields, items=items)

    def describe(self, sobject: str) -> dict[str, Json]:
        found = self.describes.get(sobject.lower())
        if found is None:
            raise errors.NotFoundError(
                f"no such object {sobject}", status=404, error_code="NOT_FOUND"
            )
        return found


def _conforms(org: FakeOrg) -> OrgApi:
    return org  # mypy: FakeOrg satisfies OrgApi
