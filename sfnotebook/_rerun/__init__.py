"""The rerun cache, and result metadata on every verb that fetches data.

``org.query(soql, cache="1h")``, ``org.report(name, cache="30min")`` and
``org.extract(soql, cache="2d")`` keep their result on disk and, when the same request comes
again within that age, return the kept result without a single API call: rerunning a notebook
no longer spends report runs or minutes. ``connect(cache="1h")`` (or ``org.cache = "1h"``) makes
it the default of every call on that connection; ``cache=None`` (the default) and no connection
default fetch every time; ``refresh=True`` fetches again and replaces the kept result.

What is kept, and where (see :mod:`sfnotebook._rerun._store`, :mod:`._key`, :mod:`._frames`):

* keyed by org Id, user Id, API version and the exact request (the SOQL after binding, the
  report and its filters, ``dtypes=``, ``output=`` ...), in a directory of that org and user
  only, so no entry is ever read for another org or user;
* as Parquet with each frame's dtypes, checked to read back exactly (else not kept);
* in ``$SFNOTEBOOK_CACHE_DIR`` or ``$XDG_CACHE_HOME/sfnotebook`` or ``~/.cache/sfnotebook``,
  directories 0700 and files 0600, written atomically.

A result from the cache says so: ``df.attrs["sfnotebook"]["from_cache"]`` is True and
``cache_age_s`` its age; a one-line notice (``from cache, 12 min old``) is logged, and printed
in a notebook. ``sfnotebook.clear_cache()`` / ``org.clear_cache()`` remove kept results.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sfnotebook import _meta
from sfnotebook._rerun import _store
from sfnotebook._rerun._age import CacheAge, describe_age, parse_max_age
from sfnotebook._rerun._frames import NotCacheable, decode, encode
from sfnotebook._rerun._key import HOW_NOT_WHAT, request_key
from sfnotebook._rerun._shapes import Restorers, rebuild, take_apart
from sfnotebook._soql_bind import with_params
from sfnotebook.errors import InvalidArgumentError

__all__ = ["CacheAge", "clear_cache", "parse_max_age", "rerunnable"]

log = logging.getLogger("sfnotebook")

F = TypeVar("F", bound=Callable[..., Any])

# Which responses are a "page" (SOQL) or a result page (Bulk) when counting them.
_PAGE_PATHS = {"soql": ("/query", "/queryAll"), "bulk": ("/results",)}


def rerunnable(
    kind: str,
    *,
    cacheable: bool = True,
    restorers: Restorers | None = None,
    finish: Callable[[Any, dict[str, Any]], Any] | None = None,
) -> Callable[[F], F]:
    """Wrap a verb: metadata on its result, and (``cacheable``) its ``cache=``/``refresh=``.

    The verb keeps its own signature and docstring (``help(org.query)``); it must take
    ``cache`` and ``refresh`` keywords when ``cacheable``. ``restorers`` rebuild the verb's
    composite results from the cache; ``finish(result, info)`` may replace a result before
    metadata is attached (``extract(to=)`` turns its folder into an :class:`ExtractFolder`).
    """

    def wrap(verb: F) -> F:
        signature = inspect.signature(verb)

        @functools.wraps(verb)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, value in bound.arguments.items():
                if isinstance(value, Iterator):
                    # A generator of filters is read here (request text, key): the verb gets
                    # the same values as a list, not an exhausted generator.
                    bound.arguments[name] = list(value)
            arguments = dict(bound.arguments)
            conn = arguments["conn"]
            request = _request_text(kind, arguments)
            store, key = (None, "")
            max_age = None
            if cacheable:
                max_age, store, key = _plan(kind, conn, arguments)
                if store is not None and max_age is not None and not arguments.get("refresh"):
                    started = time.monotonic()
                    hit = _load(store, key, max_age, restorers or {}, started=started)
                    if hit is not None:
                        return hit
            result, info = _fetch(kind, conn, request, verb, bound, finish)
            if store is not None:
                _save(store, key, result, info)
            return result

        return run  # type: ignore[return-value]

    return wrap


def _request_text(kind: str, arguments: dict[str, Any]) -> str:
    """What ``info["request"]`` shows: the SOQL as sent, or the report (and its filters)."""
    if kind == "report":
        text = str(arguments.get("report"))
        filters = arguments.get("filters")
        return f"{text} filters={list(filters)!r}" if filters else text
    if "job_id" in arguments:
        return f"job {arguments['job_id']}"
    return with_params(str(arguments.get("soql")), arguments.get("params"))


def _plan(
    kind: str, conn: Any, arguments: dict[str, Any]
) -> tuple[float | None, _store.Store | None, str]:
    """The maximum age, the store and the key of this call (no store: not cached)."""
    asked = arguments.get("cache")
    max_age = parse_max_age(asked)
    if asked is None:
        max_age = parse_max_age(getattr(conn, "cache", None), argument="org.cache")
    if arguments.get("to") is not None:
        if asked is not None:
            raise InvalidArgumentError(
                "cache= keeps DataFrame results; with to= the Parquet folder is the result. "
                "Drop cache= (or to=). Nothing was sent.",
                argument="cache",
            )
        return None, None, ""
    if max_age is None:
        return None, None, ""  # no cache (refresh=True without one is just a fetch)
    org_id, user_id = _owner(conn)
    if not org_id or not user_id:
        return None, None, ""
    request = {k: v for k, v in arguments.items() if k not in HOW_NOT_WHAT}
    if "soql" in request:
        request["soql"] = with_params(str(request["soql"]), arguments.get("params"))
    output = request.get("output")
    if output is None:
        request["output"] = getattr(conn, "output", "pandas")
    key = request_key(
        kind=kind,
        org_id=org_id,
        user_id=user_id,
        api_version=str(getattr(conn, "api_version", "")),
        request=request,
    )
    return max_age, _store.Store(org_id, user_id), key


def _owner(conn: Any) -> tuple[str, str]:
    try:
        return str(conn.org_id or ""), str(conn.user_id or "")
    except Exception:  # a connection not logged in raises from its properties
        return "", ""


def _fetch(
    kind: str,
    conn: Any,
    request: str,
    verb: Callable[..., Any],
    bound: inspect.BoundArguments,
    finish: Callable[[Any, dict[str, Any]], Any] | None,
) -> tuple[Any, dict[str, Any]]:
    """Call the verb, counting its API calls and pages; the result with its metadata."""
    session = getattr(conn, "session", None)
    before = _meta.requests_sent(conn)
    pages = _PageCounter(session, _PAGE_PATHS.get(kind, ()))
    started = time.monotonic()
    try:
        result = verb(*bound.args, **bound.kwargs)
    finally:
        pages.stop()
    elapsed = time.monotonic() - started
    after = _meta.requests_sent(conn)
    runs = getattr(result, "runs", None)
    info = _meta.make_info(
        conn,
        kind=kind,
        request=request,
        rows=_rows(result),
        pages_or_runs=runs if isinstance(runs, int) else pages.count,
        api_calls=None if before is None or after is None else after - before,
        elapsed_s=elapsed,
    )
    if finish is not None:
        result = finish(result, info)
        info["rows"] = _rows(result)
    return _meta.attach(result, info), info


def _rows(result: Any) -> int | None:
    if isinstance(result, int) and not isinstance(result, bool):
        return 1
    rows = getattr(result, "rows", None)
    if isinstance(rows, int):
        return rows
    try:
        return len(result)
    except TypeError:
        return None


class _PageCounter:
    """Counts the successful responses to page URLs while a verb runs (a requests hook)."""

    def __init__(self, session: Any, paths: tuple[str, ...]) -> None:
        self.count: int | None = None
        self._hooks: list[Any] | None = None
        self._lock = threading.Lock()
        hooks = getattr(session, "hooks", None)
        if not paths or not isinstance(hooks, dict):
            return
        self.count = 0
        self._paths = paths
        self._hooks = hooks.setdefault("response", [])
        self._hooks.append(self._seen)

    def _seen(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        path = str(getattr(getattr(response, "request", None), "path_url", "") or "")
        path = path.split("?", 1)[0]
        if response.status_code == 200 and any(
            p in path if p != "/results" else path.endswith(p) for p in self._paths
        ):
            with self._lock:  # pages may arrive on worker threads
                self.count = (self.count or 0) + 1
        return None

    def stop(self) -> None:
        if self._hooks is not None:
            with contextlib.suppress(ValueError):
                self._hooks.remove(self._seen)


def _load(
    store: _store.Store, key: str, max_age: float, restorers: Restorers, *, started: float
) -> Any:
    """The kept result of ``key`` with from-cache metadata, or None (then it is fetched)."""
    entry = store.get(key, max_age)
    if entry is None:
        return None
    try:
        frames = {name: decode(data, meta) for name, (data, meta) in entry.parts.items()}
        extra = dict(entry.manifest["extra"])
        result = rebuild(extra.pop("shape"), frames, extra, restorers)
    except (KeyError, TypeError, ValueError, OSError) as exc:
        log.info("cache entry %s could not be rebuilt (%s): fetching again", key[:12], exc)
        return None
    age = entry.age_s
    info = {**entry.manifest["info"], "from_cache": True, "cache_age_s": round(age, 1)}
    info["api_calls"] = 0
    info["elapsed_s"] = round(time.monotonic() - started, 3)  # reading the kept copy
    _notice(info, age)
    return _meta.attach(result, info)


def _save(store: _store.Store, key: str, result: Any, info: dict[str, Any]) -> None:
    """Keep ``result``; a result that cannot be kept exactly is logged and not kept."""
    try:
        shape, frames, extra = take_apart(result)
        parts = {name: encode(frame) for name, frame in frames.items()}
        store.put(key, parts=parts, extra={**extra, "shape": shape}, info=info)
    except NotCacheable as exc:
        log.warning("sfnotebook: this result is not cached: %s. It is fetched on every run.", exc)
    except OSError as exc:
        log.warning("sfnotebook: could not write the cache (%s); the result is not cached.", exc)


def _notice(info: dict[str, Any], age: float) -> None:
    """``from cache, 12 min old`` in the log, and printed in a notebook."""
    line = (
        f"sfnotebook: {_count(info.get('rows'))} from cache, {describe_age(age)} "
        f"(fetched {info.get('fetched_at')}); refresh=True fetches again."
    )
    log.info(line)
    if "ipykernel" in sys.modules:
        print(line)


def _count(rows: object) -> str:
    return f"{rows:,} rows" if isinstance(rows, int) else "a result"


def clear_cache(org: Any = None) -> int:
    """Remove cached results: the connection's org and user (``org``), or all of them.

    Returns the number of results removed. ``org.clear_cache()`` is the same for one connection.

    Examples
    --------
    >>> sfnotebook.clear_cache()   # doctest: +SKIP
    3
    """
    if org is None:
        return _store.clear()
    org_id, user_id = _owner(org)
    if not org_id or not user_id:
        raise InvalidArgumentError(
            "clear_cache(org) needs a logged-in connection (its org and user Ids).",
            argument="org",
        )
    return _store.clear(org_id, user_id)
