"""The ``requests.Session`` sfnotebook owns: re-authentication and retries for every call.

simple-salesforce sends everything through the session it is given, so putting the policy
here covers its calls (``org.sf.query_all``, ``org.sf.Account.describe()``) as well as ours:

* 401 ``INVALID_SESSION_ID``: exchange the client credentials again (no refresh token exists in
  this flow), swap the ``Authorization`` header and resend once.
* 5xx and dropped connections on idempotent calls (GET/HEAD, or ``idempotent=True`` for
  read-only POSTs such as report runs): retry a bounded number of times with exponential
  backoff and jitter. A non-idempotent write is never retried.
* 403 ``REQUEST_LIMIT_EXCEEDED`` is never retried: retrying would dig a deeper hole.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["ApiSession", "RetryPolicy"]

log = logging.getLogger("sfnotebook.http")

_IDEMPOTENT_METHODS = {"GET", "HEAD", "OPTIONS"}
_RETRY_STATUSES = {500, 502, 503, 504}
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass
class RetryPolicy:
    """How often and how patiently idempotent calls are retried."""

    retries: int = 4
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_backoff)
        base = min(self.backoff * (2**attempt), self.max_backoff)
        return base * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not cryptography


class ApiSession(requests.Session):
    """A session that re-authenticates on ``INVALID_SESSION_ID`` and retries idempotent reads.

    ``reauthenticate(old_authorization) -> new_authorization`` is called with the
    ``Authorization`` header that failed; it returns the header to use from now on.
    """

    def __init__(self, *, policy: RetryPolicy | None = None) -> None:
        super().__init__()
        self.policy = policy or RetryPolicy()
        self.reauthenticate: Callable[[str], str] | None = None
        self.instance_host: str | None = None
        self.stats = {"requests": 0, "retries": 0, "reexchanges": 0, "faults": 0}
        self.api_usage: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str | bytes,
        *args: Any,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        url = url.decode() if isinstance(url, bytes) else url
        retryable = idempotent if idempotent is not None else method.upper() in _IDEMPOTENT_METHODS
        on_instance = self.instance_host is not None and urlsplit(url).netloc == self.instance_host
        if kwargs.get("verify") is None:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify; the
            # CA bundle this session was given (the org's, or the demo org's) must win.
            kwargs["verify"] = self.verify
        reauthed = False
        attempt = 0
        while True:
            self._count("requests")
            try:
                resp = super().request(method, url, *args, **kwargs)
            except _TRANSIENT as exc:
                if not retryable or attempt >= self.policy.retries:
                    raise
                self._count("faults")
                self._sleep(attempt, None, f"{exc.__class__.__name__}", method, url)
                attempt += 1
                continue
            self._note_usage(resp)
            if (
                resp.status_code == 401
                and on_instance
                and not reauthed
                and self.reauthenticate is not None
                and _is_invalid_session(resp)
            ):
                used = self._authorization(kwargs)
                fresh = self.reauthenticate(used)
                self._count("reexchanges")
                headers = dict(kwargs.get("headers") or {})
                if any(k.lower() == "authorization" for k in headers):
                    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                    headers["Authorization"] = fresh
                    kwargs["headers"] = headers
                reauthed = True
                resp.close()
                continue
            if resp.status_code in _RETRY_STATUSES and retryable and attempt < self.policy.retries:
                self._count("faults")
                retry_after = resp.headers.get("Retry-After")
                resp.close()
                self._sleep(attempt, retry_after, str(resp.status_code), method, url)
                attempt += 1
                continue
            return resp

    def _authorization(self, kwargs: dict[str, Any]) -> str:
        for key, value in (kwargs.get("headers") or {}).items():
            if key.lower() == "authorization":
                return str(value)
        return str(self.headers.get("Authorization", ""))

    def _sleep(
        self, attempt: int, retry_after: str | None, why: str, method: str, url: str
    ) -> None:
        self._count("retries")
        delay = self.policy.delay(attempt, retry_after)
        log.info(
            "retrying %s %s after %s (attempt %d of %d, waiting %.2fs)",
            method,
            urlsplit(url).path,
            why,
            attempt + 1,
            self.policy.retries,
            delay,
        )
        time.sleep(delay)

    def _note_usage(self, resp: requests.Response) -> None:
        info = resp.headers.get("Sforce-Limit-Info")
        if info:
            m = _LIMIT_INFO.search(info)
            if m:
                self.api_usage = (int(m.group(1)), int(m.group(2)))


def _is_invalid_session(resp: requests.Response) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode") == "INVALID_SESSION_ID"
    return False
