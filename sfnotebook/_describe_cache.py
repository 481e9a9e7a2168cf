"""Object describes kept on disk, per org, user and API version, revalidated before each use.

A describe is what sfnotebook types a query's columns by; fetching it costs a round trip
before the first query of every new kernel can be typed. Kept here, it costs only its
revalidation: ``GET /sobjects/{name}/describe`` with ``If-Modified-Since`` set to the kept
copy's date, which Salesforce documents for the sObject Describe resource: "If the metadata has
not been modified since the provided date, a 304 Not Modified status code is returned, with no
response body" (REST API Developer Guide, "Get Object Metadata Changes",
developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
sobject_describe_with_ifmodified_header.htm; the date in ``EEE, dd MMM yyyy HH:mm:ss z``
format). A 304 answers from the kept copy; a 200 replaces it.

The date sent is the answer's ``Last-Modified`` when it carries one (the guide does not say it
does), else the answer's ``Date`` less the round trip's time (``resp.elapsed``): no later than
the moment the org read the metadata it sent, so a change made after that read is never
answered 304 (a change just before it is fetched again once, which costs a round trip, not
correctness).

Layout: ``<cache>/describes/<org Id>/<user Id>/v<version>/<object>.json`` under the folder of
:mod:`sfnotebook._cachedir`, folders 0700 and files 0600. A describe depends on the user's
permissions (which fields it lists) as well as the org's metadata, hence the user in the key.
Whether a change of the user's permissions alone counts as a change of the object's metadata is
not documented, so a copy older than :data:`MAX_AGE` is fetched in full again. A file that
cannot be read, is not one this version wrote, or is writable by others is ignored (and
replaced by the next answer); no failure of the cache ever fails a describe.

Turn it off with ``sfnotebook.connect(describe_cache=False)``, ``org.describe_cache = False`` or
the environment variable ``SFNOTEBOOK_DESCRIBE_CACHE=0``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson
import requests

from sfnotebook._cachedir import cache_root, write_private

__all__ = ["MAX_AGE", "Cached", "DescribeCache", "enabled_by_env", "stamp_of"]

log = logging.getLogger("sfnotebook")

MAX_AGE = 24 * 3600.0  # seconds a kept describe is revalidated before it is fetched in full
_FORMAT = 1  # the file's layout; a file of another layout is ignored
_ID = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_VERSION = re.compile(r"\d{1,3}\.\d")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_OFF = ("0", "false", "no", "off")


def enabled_by_env() -> bool:
    """False when ``SFNOTEBOOK_DESCRIBE_CACHE`` says off (``0``, ``false``, ``no``, ``off``)."""
    return os.environ.get("SFNOTEBOOK_DESCRIBE_CACHE", "1").strip().lower() not in _OFF


@dataclass(frozen=True)
class Cached:
    """A kept describe and the ``If-Modified-Since`` value that revalidates it."""

    stamp: str
    describe: dict[str, Any]


def _http_date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def stamp_of(resp: requests.Response) -> str | None:
    """The ``If-Modified-Since`` value for the describe ``resp`` carried, or None if unknown."""
    modified = _http_date(resp.headers.get("Last-Modified"))
    if modified is None:
        served = _http_date(resp.headers.get("Date"))
        if served is None:
            return None
        modified = served - resp.elapsed  # no later than the org's read of the metadata
    whole = modified.astimezone(dt.timezone.utc).replace(microsecond=0)
    return format_datetime(whole, usegmt=True)


def _is_describe(value: Any, sobject: str) -> bool:
    if not isinstance(value, dict) or str(value.get("name", "")).lower() != sobject.lower():
        return False
    fields = value.get("fields")
    return isinstance(fields, list) and all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields
    )


class DescribeCache:
    """The kept describes of one org, user and API version (one file per object)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def for_user(
        cls, org_id: str, user_id: str, api_version: str, root: Path | None = None
    ) -> DescribeCache | None:
        """The cache of this org, user and version; None if an Id is not one (no path made)."""
        if not (
            _ID.fullmatch(org_id) and _ID.fullmatch(user_id) and _VERSION.fullmatch(api_version)
        ):
            return None
        base = root if root is not None else cache_root()
        return cls(base / "describes" / org_id / user_id / f"v{api_version}")

    def path(self, sobject: str) -> Path:
        """The file of ``sobject`` (an API name, checked by the caller; any case)."""
        if not _NAME.fullmatch(sobject):
            raise ValueError(f"not an object's API name: {sobject!r}")
        return self.folder / f"{sobject.lower()}.json"

    def load(self, sobject: str, *, now: float | None = None) -> Cached | None:
        """The kept describe of ``sobject``, or None (none kept, too old, or unreadable)."""
        try:
            path = self.path(sobject)
            with path.open("rb") as fh:
                if os.fstat(fh.fileno()).st_mode & 0o022:
                    log.debug("describe cache: %s is writable by others; ignored", path)
                    return None
                data = orjson.loads(fh.read())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
            log.debug("describe cache: %s unreadable (%s); ignored", sobject, exc)
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return None
        stamp, saved, describe = data.get("stamp"), data.get("saved"), data.get("describe")
        if not isinstance(stamp, str) or _http_date(stamp) is None:
            return None
        if not isinstance(saved, (int, float)) or isinstance(saved, bool):
            return None
        age = (time.time() if now is None else now) - saved
        if not 0 <= age < MAX_AGE or data.get("sobject") != sobject.lower():
            return None
        if not isinstance(describe, dict) or not _is_describe(describe, sobject):
            return None
        return Cached(stamp, describe)

    def store(self, sobject: str, resp: requests.Response, describe: dict[str, Any]) -> bool:
        """Keep ``describe`` (the answer ``resp`` carried); False if it could not be kept."""
        stamp = stamp_of(resp)
        if stamp is None:
            return False  # without a date it could not be revalidated: not kept
        record = {
            "format": _FORMAT,
            "sobject": sobject.lower(),
            "stamp": stamp,
            "saved": time.time(),
            "describe": describe,
        }
        try:
            write_private(self.path(sobject), orjson.dumps(record))
        except (OSError, ValueError, TypeError) as exc:
            log.debug("describe cache: %s not kept (%s)", sobject, exc)
            return False
        return True
