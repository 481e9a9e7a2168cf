"""Credentials on Spark executors and Dask workers: what travels with a task, and what never does.

A distributed read runs code in other processes, often on other machines, that must call the
org: the task's closure is pickled, shipped, sometimes logged or kept on disk by the engine.
The consumer secret never goes there: :class:`~sfnotebook._secret.Secret` refuses to be
pickled, and nothing here holds it. Two schemes, chosen with ``credentials=``:

``"token"`` (the default)
    The driver hands the workers the connection's **access token** (short-lived, revocable,
    valid for this org only) with the instance URL and API version, in a :class:`WorkerGrant`.
    Workers cannot exchange a new one: a token that expires mid-read fails that partition with
    :class:`~sfnotebook.errors.WorkerTokenExpiredError`, which says what to do (read again,
    or switch schemes). The token is in the task's bytes: on a cluster whose RPC is not
    encrypted (Spark's ``spark.network.crypto.enabled``, Dask's TLS), prefer ``"environment"``.
``"environment"``
    Nothing secret travels: each worker process logs in itself with ``sfnotebook.connect()``
    from **its own** ``SF_*`` environment or ``.env`` (a Databricks secret scope exposed as
    environment variables, a Dask worker's ``env=``), once per process, and re-exchanges its
    token on expiry as any connection does. It must reach the same org as the driver (checked).

Either way a worker connection is made once per process and grant and reused by every
partition that process reads (:func:`worker_connection`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sfnotebook._secret import Secret
from sfnotebook._session import BearerAuth, RetryPolicy
from sfnotebook.auth import Token
from sfnotebook.connection import Connection, connect
from sfnotebook.errors import InvalidSettingError, WorkerTokenExpiredError
from sfnotebook.settings import Settings

__all__ = ["CREDENTIALS", "Credentials", "WorkerGrant", "grant_for", "worker_connection"]

Credentials = Literal["token", "environment"]
CREDENTIALS: tuple[str, ...] = ("token", "environment")


@dataclass(frozen=True, repr=False)
class WorkerGrant:
    """What a worker needs to read one org's Bulk API results; never the consumer secret.

    ``token`` is set only with ``credentials="token"``. Pickling carries it on purpose (that is
    what the scheme is), as the access token alone; ``repr`` never shows it.
    """

    credentials: Credentials
    instance_url: str
    api_version: str
    identity_url: str = ""
    issued_at: str = ""
    ca_bundle: str | None = None
    retries: int = 4
    backoff: float = 0.5
    token: Secret | None = None

    def __repr__(self) -> str:
        shown = ", token='***'" if self.token is not None else ""
        return (
            f"WorkerGrant(credentials={self.credentials!r}, instance_url={self.instance_url!r}, "
            f"api_version={self.api_version!r}{shown})"
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        token = self.token.reveal() if self.token is not None else None
        return (_restore, (*self._fields(), token))

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.credentials,
            self.instance_url,
            self.api_version,
            self.identity_url,
            self.issued_at,
            self.ca_bundle,
            self.retries,
            self.backoff,
        )

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        """Dask names tasks by a hash of their arguments: the token goes in as a digest only."""
        return ("sfnotebook.WorkerGrant", *self.key())

    def key(self) -> tuple[Any, ...]:
        """Which cached worker connection serves this grant (the token only as a digest)."""
        digest = hashlib.sha256(self.token.reveal().encode()).hexdigest() if self.token else ""
        return (*self._fields(), digest)


def _restore(*values: Any) -> WorkerGrant:
    """Unpickle a grant: the token is a :class:`Secret` again at once."""
    *fields, token = values
    grant = WorkerGrant(*fields)
    if token is None:
        return grant
    return dataclasses.replace(grant, token=Secret(token))


def grant_for(conn: Connection, credentials: str = "token") -> WorkerGrant:
    """The grant workers get for reading ``conn``'s org: its token, or nothing secret at all."""
    if credentials not in CREDENTIALS:
        raise InvalidSettingError(
            f"credentials={credentials!r}: use 'token' (workers get the driver's access token) "
            "or 'environment' (each worker logs in from its own SF_* settings)."
        )
    policy = conn.session.policy
    token = conn.token
    return WorkerGrant(
        credentials="token" if credentials == "token" else "environment",
        instance_url=conn.instance_url,
        api_version=conn.api_version,
        identity_url=token.identity_url,
        issued_at=token.issued_at.isoformat(),
        ca_bundle=conn.settings.ca_bundle,
        retries=policy.retries,
        backoff=policy.backoff,
        token=token.access_token if credentials == "token" else None,
    )


_cache: dict[tuple[Any, ...], Connection] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 4


def worker_connection(grant: WorkerGrant) -> Connection:
    """This process's connection for ``grant``, made on first use (one per process and grant)."""
    key = grant.key()
    with _cache_lock:
        conn = _cache.get(key)
        if conn is None:
            conn = _connect(grant)
            while len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache))).session.close()
            _cache[key] = conn
    return conn


def _connect(grant: WorkerGrant) -> Connection:
    if grant.token is not None:
        return TokenConnection(grant)
    conn = connect(
        api_version=grant.api_version,
        retries=grant.retries,
        backoff=grant.backoff,
        set_default=False,
    )
    if urlsplit(conn.instance_url).netloc != urlsplit(grant.instance_url).netloc:
        conn.close()
        raise InvalidSettingError(
            f"This worker's SF_* settings log in to {conn.instance_url}, but the job runs on "
            f"{grant.instance_url}: give the workers the settings of the driver's org."
        )
    return conn


class TokenConnection(Connection):
    """A :class:`Connection` on a token handed over by the driver: it cannot exchange another.

    Built as :meth:`Connection.open` builds one, minus the token exchange (there is no
    secret to exchange) and the identity call; on ``INVALID_SESSION_ID`` it raises
    :class:`~sfnotebook.errors.WorkerTokenExpiredError` instead of logging in again.
    """

    def __init__(self, grant: WorkerGrant) -> None:
        assert grant.token is not None  # noqa: S101 - only made for token grants
        settings = Settings(
            domain_url=grant.instance_url,
            consumer_key="",
            consumer_secret=Secret(""),
            api_version=grant.api_version,
            ca_bundle=grant.ca_bundle,
        )
        super().__init__(settings, policy=RetryPolicy(retries=grant.retries, backoff=grant.backoff))
        self.grant = grant
        self._token = Token(
            access_token=grant.token,
            instance_url=grant.instance_url,
            identity_url=grant.identity_url,
            issued_at=_issued(grant.issued_at),
        )
        self.instance_url = grant.instance_url
        self.session.instance_host = urlsplit(grant.instance_url).netloc
        self.session.auth = BearerAuth(grant.token, grant.instance_url)
        self.session.reauthenticate = self._expired
        self.api_version = grant.api_version
        self.base_path = f"/services/data/v{grant.api_version}"
        self._identity = {}  # no identity call: the user Id stands for the user

    def _expired(self, used: Secret | None, epoch: int = 0) -> bool:
        raise WorkerTokenExpiredError(
            "The access token the workers were handed (issued "
            f"{self.grant.issued_at or 'by the driver'}) expired during the read, and workers "
            "hold no consumer secret to exchange a new one. Read again (a finished job's "
            "results stay on Salesforce for 7 days: pass its job_id), raise the Connected "
            "App's session timeout, or use credentials='environment' so that each worker logs "
            "in from its own SF_* settings.",
            status=401,
            error_code="INVALID_SESSION_ID",
            url=self.instance_url,
        )

    def __repr__(self) -> str:
        return f"<sfnotebook worker connection {self.instance_url} api=v{self.api_version}>"


def _issued(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(0).astimezone()
