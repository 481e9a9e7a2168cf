"""Request, response and routing types shared by the demo org's feature modules.

The demo org is a separate world: nothing here imports from the client side of sfnotebook.
Feature modules (:mod:`sfnotebook_demo.rest.sobjects`, :mod:`sfnotebook_demo.soql.endpoint`,
:mod:`sfnotebook_demo.reports.endpoints`, :mod:`sfnotebook_demo.bulk.endpoints`, listed in
:mod:`sfnotebook_demo.server`) each expose ``register(router: Router, org: OrgState) -> None``
and add their routes with :meth:`Router.add`. Handlers take ``(request, **path_groups)`` and
return a :class:`Response`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = [
    "Handler",
    "Request",
    "Response",
    "Route",
    "Router",
    "error_response",
    "json_response",
]


@dataclass
class Request:
    """One parsed HTTP request as a handler sees it."""

    method: str
    path: str  # without the query string, percent-decoded
    query: dict[str, str]  # first value of each parameter, percent-decoded
    headers: dict[str, str]  # keys lower-cased
    body: bytes = b""
    api_version: str | None = None  # "68.0" when the path is under /services/data/vXX.X/
    user_id: str | None = None  # the Run As user of the bearer token, set by the server
    token: str | None = None  # the bearer token, set by the server after authentication

    def json(self) -> Any:
        """The body decoded as JSON (``None`` for an empty body)."""
        if not self.body:
            return None
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    """What a handler returns. ``body`` may be bytes, or an iterable of bytes to stream.

    ``cut`` (set by the ``cut_next`` fault, never by handlers) sends only half of the body,
    then closes the connection.
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"
    cut: bool = False

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.body, bytes):
            yield self.body
        else:
            yield from self.body


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response, compact like Salesforce's (no pretty printing)."""
    body = orjson.dumps(payload)
    return Response(status=status, body=body, headers=dict(headers or {}))


def error_response(status: int, error_code: str, message: str, **extra: Any) -> Response:
    """Salesforce's REST error body: a JSON array of ``{"message", "errorCode"}`` objects."""
    item: dict[str, Any] = {"message": message, "errorCode": error_code}
    item.update(extra)
    return json_response([item], status=status)


Handler = Callable[..., Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool


class Router:
    """Maps ``(method, path)`` to a handler.

    Patterns are regular expressions matched against the whole path; the literal ``{v}`` in a
    pattern stands for the API version segment (``v68.0``) and is captured as ``api_version``
    on the request, not passed to the handler.
    """

    VERSION = r"v(?P<_v>\d+\.\d)"

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        regex = re.compile("^" + pattern.replace("{v}", self.VERSION) + "$")
        self.routes.append(Route(method.upper(), regex, handler, auth))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | bool | None:
        """The route and its groups; ``False`` when the path exists for another method."""
        path_seen = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            if route.method != method.upper():
                path_seen = True
                continue
            return route, m.groupdict()
        return False if path_seen else None
