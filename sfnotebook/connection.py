"""``connect()`` and the :class:`Connection`: one org, one session, one token at a time."""

from __future__ import annotations

import copy
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MethodType, ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import requests

from sfnotebook import _default_connection as _defaults
from sfnotebook import _warm
from sfnotebook._answers import (
    decode_describe,
    decode_identity,
    decode_json,
    decode_versions,
)
from sfnotebook._api import Fields, Json, JsonObject, Timeout
from sfnotebook._default_connection import get_default, open_connection, set_default_connection
from sfnotebook._describe_cache import DescribeCache, enabled_by_env
from sfnotebook._hints import add_hint
from sfnotebook._once import OncePerKey
from sfnotebook._paths import api_name
from sfnotebook._secret import Secret
from sfnotebook._session import ApiSession, BearerAuth, RetryPolicy, same_origin
from sfnotebook._version import __version__
from sfnotebook.auth import TIMEOUT as AUTH_TIMEOUT
from sfnotebook.auth import Token, exchange_token, network_error, revoke_token
from sfnotebook.browse._describe import SObjectDescribe
from sfnotebook.errors import (
    ConnectionClosedError,
    InvalidSettingError,
    NetworkError,
    RequestLimitExceededError,
    SalesforceError,
    SfNotebookError,
    error_from_body,
)
from sfnotebook.settings import Settings, load_settings, mask_userinfo

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sfnotebook import browse, bulk, dashboards, ingest, reports, soql
    from sfnotebook._output import Output
    from sfnotebook._rerun import CacheAge

__all__ = ["Connection", "connect", "get_default", "open_connection", "set_default", "use"]

log = logging.getLogger("sfnotebook")

DEFAULT_TIMEOUT = (10.0, 300.0)
#: TLS connections ``open()`` opens ahead, beside the log-in's two: page 1, the root describe
#: and two parent describes of the first query then go out at once (see :meth:`Connection.open`).
PRECONNECT = 2


def connect(
    *,
    domain: str | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | Secret | None = None,
    api_version: str | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    env_file: str | os.PathLike[str] | bool | None = None,
    profile: str | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    set_default: bool | None = None,
    output: Output = "pandas",
    describe_cache: bool | None = None,
    cache: CacheAge = None,
) -> Connection:
    """Log in with the client credentials flow and return a :class:`Connection`.

    Settings come from the keyword arguments, then the environment variables ``SF_DOMAIN``,
    ``SF_CONSUMER_KEY``, ``SF_CONSUMER_SECRET``, ``SF_API_VERSION``, ``SF_CA_BUNDLE``, then the
    nearest ``.env`` file (searched upward from the working directory). With a profile the
    variables are ``SF_<PROFILE>_DOMAIN`` and so on (see ``docs/profiles.md``).

    Parameters
    ----------
    consumer_secret
        A ``str`` or a :class:`~sfnotebook._secret.Secret`; wrapped at once, so no traceback
        (not even one with locals, as ``%xmode Verbose`` prints) shows it.
    profile
        A named set of settings: ``profile="uat"`` reads ``SF_UAT_DOMAIN``,
        ``SF_UAT_CONSUMER_KEY``, ``SF_UAT_CONSUMER_SECRET`` (and ``SF_UAT_API_VERSION``,
        ``SF_UAT_CA_BUNDLE``). ``None``: the profile ``SF_PROFILE`` names, else the plain
        ``SF_*`` variables (``profile="default"`` asks for those explicitly). The connection's
        ``name`` is the profile's (``"default"`` without one); ``%%soql -c uat`` runs on it.
    retries, backoff
        How many times idempotent reads are retried on 5xx or dropped connections, and the
        first wait in seconds (doubling, with jitter).
    set_default
        Whether this becomes the default connection, the one ``sfnotebook.query`` and
        ``%%soql`` use. ``None`` (default): only if there is no open default yet, so the
        first connection of a session is the default and a second ``connect()`` never takes
        its place silently (it prints a line saying the default stays). ``True``: it becomes
        the default (a line says so when it replaces another); ``False``: never.
        ``sfnotebook.use(org)`` switches later.
    output
        The library results come out in when a verb's ``output=`` is not given: ``"pandas"``,
        ``"polars"`` or ``"arrow"`` (``pyarrow.Table``); also ``conn.output``.
    describe_cache
        Keep object describes on disk (per org, user and API version, revalidated with
        ``If-Modified-Since`` before each use; see :mod:`sfnotebook._describe_cache`). ``None``:
        on unless the environment sets ``SFNOTEBOOK_DESCRIBE_CACHE=0``; also
        ``conn.describe_cache``.
    cache
        The rerun cache of every ``query``/``report``/``extract`` on this connection that
        gives no ``cache=`` of its own: a maximum age (``"1h"``, ``"30min"``, seconds); also
        ``conn.cache``. Default: none, every call fetches (see :mod:`sfnotebook._rerun`).

    Examples
    --------
    >>> import sfnotebook
    >>> org = sfnotebook.connect()                      # doctest: +SKIP
    >>> org.query("SELECT Id, Name FROM Account LIMIT 5")  # doctest: +SKIP
    """
    # Rebind the argument first: a traceback through this frame then shows Secret('***').
    consumer_secret = (
        Secret(consumer_secret) if isinstance(consumer_secret, str) else consumer_secret
    )
    domain = mask_userinfo(domain)  # a password in the domain stays out of every frame
    settings = load_settings(
        domain=domain,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        api_version=api_version,
        ca_bundle=ca_bundle,
        env_file=env_file,
        profile=profile,
    )
    if cache is not None:
        from sfnotebook._rerun import parse_max_age

        parse_max_age(cache)  # a bad value is refused before the login
    conn = Connection(settings, policy=RetryPolicy(retries=retries, backoff=backoff))
    conn.output = output
    if describe_cache is not None:
        conn.describe_cache = describe_cache
    conn.cache = cache
    conn.open()
    _install_error_display()
    _defaults.adopt(conn, set_default)
    return conn


def _install_error_display() -> None:
    """Inside IPython, show sfnotebook errors concisely (``sfnotebook.notebook._errors``).

    IPython is not imported here: if nobody imported it, this is not an IPython session.
    """
    if "IPython" not in sys.modules:
        return
    from sfnotebook.notebook._errors import install

    install(secrets=_defaults.secrets_in_play)


set_default = set_default_connection


def use(org: Connection | str) -> Connection:
    """Make ``org`` the default connection, the one ``sfnotebook.query`` and ``%%soql`` use.

    Prints a line saying which connection is now the default (and which one was).

    Parameters
    ----------
    org
        A connection, or a name: the open connection of that profile (``"uat"``), else a new
        ``connect(profile=name)``.

    Examples
    --------
    >>> uat = sfnotebook.connect(profile="uat")   # doctest: +SKIP
    >>> sfnotebook.use(uat)                       # doctest: +SKIP
    """
    if isinstance(org, str):
        conn = open_connection(org) or connect(profile=org, set_default=False)
    elif isinstance(org, Connection):
        conn = org
    else:
        raise TypeError(f"use() takes a Connection or a profile name, not {type(org).__name__}")
    if conn.closed:
        raise ConnectionClosedError(
            f"The connection {conn.name!r} was closed; connect() again before using it."
        )
    _defaults.switch_to(conn)
    return conn


def _wing(name: str) -> ModuleType:
    """The wing module ``sfnotebook.<name>``, imported now (wings pull in pandas and pyarrow)."""
    if name == "soql":
        from sfnotebook import soql

        return soql
    if name == "reports":
        from sfnotebook import reports

        return reports
    if name == "ingest":
        from sfnotebook import ingest

        return ingest
    if name == "dashboards":
        from sfnotebook import dashboards

        return dashboards
    if name == "browse":
        from sfnotebook import browse

        return browse
    from sfnotebook import bulk

    return bulk


class _Verb:
    """A wing's verb as a method of :class:`Connection`, imported on first use.

    On first access the wing's function replaces this placeholder on the class, so
    ``help(org.query)``, ``inspect.signature(org.query)`` and Jupyter's Shift+Tab show the one
    definition of the verb (its keywords and numpydoc docstring), and ``import sfnotebook``
    stays free of pandas.
    """

    def __init__(self, wing: str) -> None:
        self.wing = wing
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None) -> Callable[..., object]:
        function: Callable[..., object] = getattr(_wing(self.wing), self.name)
        setattr(owner or type(obj), self.name, function)
        return function if obj is None else MethodType(function, obj)


class Connection:
    """A logged-in org: the token, the ``requests.Session`` and simple-salesforce's client.

    ``org.sf`` is the :class:`simple_salesforce.Salesforce` for anything sfnotebook does not
    cover; it shares this connection's session, so it also gets re-authentication and retries.
    """

    def __init__(self, settings: Settings, *, policy: RetryPolicy | None = None) -> None:
        """A connection that is not logged in yet: no I/O here; :meth:`open` logs in."""
        self.settings = settings
        self.session = ApiSession(policy=policy)
        self.session.verify = settings.verify
        self.session.headers.update(
            {"Accept": "application/json", "User-Agent": f"sfnotebook/{__version__}"}
        )
        self._token_lock = threading.Lock()
        self._failed_exchange: tuple[int, SfNotebookError] | None = None
        self._describes: OncePerKey[JsonObject] = OncePerKey()
        self._sobject_names: OncePerKey[list[str]] = OncePerKey()  # "did you mean" (_hints)
        self.closed = False  # close() was called: nothing is sent any more
        # The report catalogue (sfnotebook.reports._catalog): listed once, refreshed by
        # org.reports() and by a report name it does not list.
        self._report_catalog: OncePerKey[list[dict[str, Any]]] = OncePerKey()
        self._sf_lock = threading.Lock()
        self.session.timeout = DEFAULT_TIMEOUT
        self.output: Output = "pandas"  # what the verbs' output=None means
        self.cache: CacheAge = None  # the verbs' cache=None: see sfnotebook._rerun
        self._token: Token | None = None
        self.instance_url = ""
        self.api_version = ""
        self.base_path = ""
        self._sf: Salesforce | None = None
        self._identity: dict[str, Any] | None = None  # fetched on first use (identity)
        self._identity_lock = threading.Lock()
        # Object describes kept on disk (sfnotebook._describe_cache); False: memory only.
        self.describe_cache: bool = enabled_by_env()

    @property
    def name(self) -> str:
        """The profile's name (``"uat"``), or ``"default"``: what ``%%soql -c NAME`` takes."""
        return getattr(getattr(self, "settings", None), "profile", None) or "default"

    @property
    def is_default(self) -> bool:
        """Whether this is the default connection (``sfnotebook.get_default()``)."""
        return _defaults.is_default(self)

    def open(self) -> Connection:
        """Log in: the token exchange and the API versions, at the same time. Returns ``self``.

        One round trip (issue 13, item 2): the Versions resource needs no token ("You don't
        need authentication to retrieve the list of versions", REST API Developer Guide, "List
        Available REST API Versions", dome_versions.htm; its resource page says
        "Authentication: none"), so it is asked of the My Domain on a worker thread while this
        one exchanges the token there. The token answer's ``instance_url`` is the My Domain
        URL (``salesforce-api.md`` 1.2); should it name another origin, or should the org
        refuse the versions without a token after all, they are asked again on the instance
        with it (a second round trip, never a wrong answer). The identity is fetched on first
        use (:attr:`identity`). The token's error wins over the versions' when both fail, as
        when they were asked one after the other, and no request outlives ``open()``.

        Meanwhile :data:`PRECONNECT` more TLS connections to the My Domain are opened and left
        idle in the session's pool, sending nothing (:meth:`ApiSession.preconnect`): the first
        query sends page 1 and its describes at once (:mod:`sfnotebook.soql._plan`), and each
        request beyond the two connections the log-in opened would otherwise pay a TCP and TLS
        set-up, two round trips, before its own (measured at 100 ms a request: a first query
        of 0.32 s against 0.12 s). They cost the org no API call; a server closes idle ones
        after a while, and the pool then opens a new one as usual.

        Once the first of the two requests has gone out, a daemon thread imports pandas,
        pyarrow and the SOQL converters (:mod:`sfnotebook._warm`, once per process), so the
        first query converts at once: about 0.3 s of CPU while this waits on the network, paid
        by every process that connects, also one that never queries.
        """
        self.closed = False
        _warm.start(self.session.sending)
        domain = self.settings.domain_url
        workers = 1 + PRECONNECT
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sfnotebook-open") as pool:
            early = pool.submit(self._offered_versions, domain)
            connect_timeout = self.timeout[0] if isinstance(self.timeout, tuple) else self.timeout
            for _ in range(PRECONNECT):
                pool.submit(self.session.preconnect, domain, timeout=float(connect_timeout))
            token = exchange_token(self.settings, self.session)
            # Leaving the block waits for the versions and the connections opened ahead,
            # whatever the exchange did.
        self._token = token
        self.instance_url = token.instance_url
        self.session.instance_host = urlsplit(self.instance_url).netloc
        self.session.auth = BearerAuth(token.access_token, self.instance_url)
        self.session.reauthenticate = self._reauthenticate
        offered: list[str] | None = None
        if same_origin(domain, self.instance_url):
            try:
                offered = early.result()
            except SalesforceError as exc:
                if exc.status not in (401, 403):
                    raise
                log.info("the API versions needed the token (%s); asked again", exc.status)
        if offered is None:
            offered = decode_versions(self.request("GET", "/services/data/"))
        self.api_version = self._choose_version(self.settings.api_version, offered)
        self.base_path = f"/services/data/v{self.api_version}"
        return self

    def _offered_versions(self, base_url: str) -> list[str]:
        """``GET {base_url}/services/data/`` without the token: the versions, oldest first."""
        failure: SfNotebookError | None = None
        try:
            resp = self.session.request("GET", base_url + "/services/data/", timeout=self.timeout)
        except requests.RequestException as exc:
            host = urlsplit(base_url).netloc
            failure = network_error(exc, host, self.settings.ca_bundle)
        if failure is not None:  # raised outside the except block: requests' frames not chained
            raise failure
        log.debug("GET /services/data/ -> %s", resp.status_code)
        if resp.status_code >= 400:
            raise self._error(resp, "/services/data/")
        return decode_versions(resp)

    # -- identity -----------------------------------------------------------------------------
    @property
    def org_id(self) -> str:
        """The org's Id (from the token answer)."""
        return self.token.org_id

    @property
    def user_id(self) -> str:
        """The Run As user's Id (from the token answer)."""
        return self.token.user_id

    @property
    def identity(self) -> dict[str, Any]:
        """The identity URL's answer about the Run As user (``username``, ``display_name``, ...).

        Asked on first use (the connection card, :attr:`username`), once per connection, so
        ``connect()`` does not wait for it; ``{}`` when Salesforce refuses it (no identity
        scope, say). An answer that is not Salesforce's raises
        :class:`~sfnotebook.errors.UnexpectedAnswerError` (and is asked again next time).
        """
        if self._identity is None:
            with self._identity_lock:
                if self._identity is None:
                    self._identity = self._fetch_identity()
        return self._identity

    @property
    def identity_fetched(self) -> bool:
        """Has :attr:`identity` been asked already (reading it now sends no request)?"""
        return self._identity is not None

    @property
    def username(self) -> str:
        """The Run As user's username (from the identity URL), or its Id if unreadable."""
        return str(self.identity.get("username") or self.user_id)

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` of the org's daily API requests, from the last response."""
        return self.session.api_usage

    @property
    def timeout(self) -> Timeout:
        """``(connect, read)`` seconds every call waits at most, ``org.sf``'s calls too."""
        return self.session.timeout

    @timeout.setter
    def timeout(self, value: Timeout) -> None:
        self.session.timeout = value

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent, retries, faults seen and token re-exchanges, since connecting."""
        return dict(self.session.stats)

    @property
    def sf(self) -> Salesforce:
        """simple-salesforce's client on this connection's session and token.

        Built once, on first use, whichever thread gets there first; its ``session_id``
        follows each renewal of the token.
        """
        if self._sf is not None:
            return self._sf
        from simple_salesforce import Salesforce

        with self._sf_lock:
            if self._sf is None:
                with self._token_lock:  # no renewal between reading the token and keeping sf
                    sf = Salesforce(
                        instance_url=self.instance_url,
                        session_id=self.token.access_token.reveal(),
                        version=self.api_version,
                        session=self.session,
                    )
                    sf.headers.pop("X-PrettyPrint", None)
                    # The session's BearerAuth adds the header to each request (instance only).
                    sf.headers.pop("Authorization", None)
                    self._sf = sf
        return self._sf

    def __repr__(self) -> str:
        # Never raises, at any stage of construction (tracebacks with locals call it).
        token = getattr(self, "_token", None)
        if token is None:
            settings = getattr(self, "settings", None)
            where = getattr(settings, "domain_url", "?")
            return f"<sfnotebook.Connection {where} (not logged in)>"
        # The identity only if already fetched: a repr (which tracebacks call) sends nothing.
        identity = getattr(self, "_identity", None) or {}
        user = identity.get("username") or token.user_id
        version = getattr(self, "api_version", "") or "?"
        named = getattr(getattr(self, "settings", None), "profile", None)
        profile = f" profile={named}" if named else ""
        return f"<sfnotebook.Connection {token.instance_url} user={user} api=v{version}{profile}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            "A Connection cannot be pickled: it holds the consumer secret and a live token. "
            "Pickle the data; in another process, call sfnotebook.connect() again."
        )

    def _repr_html_(self) -> str:
        from sfnotebook.display import connection_html

        return connection_html(self)

    # -- token --------------------------------------------------------------------------------
    def _reauthenticate(self, used: Secret | None, epoch: int) -> bool:
        """Exchange the credentials again unless ``used`` is no longer the current token.

        ``used`` is the token the refused request carried: if another thread renewed it
        meanwhile, the caller just resends (False). ``epoch`` is the session's count of
        finished exchange attempts when that request was sent: if one failed since, the request
        was in flight during it and gets that failure too, instead of each thread trying again
        in turn. True after an exchange.
        """
        session = self.session
        with self._token_lock:
            if used is not None and used is not self.token.access_token:
                return False  # renewed while this call was in flight
            failed = self._failed_exchange
            if failed is not None and failed[0] > epoch:
                raise copy.copy(failed[1])  # an exchange failed while this call was in flight
            log.info("session expired; exchanging the client credentials again")
            try:
                token = exchange_token(self.settings, session, timeout=self._auth_timeout())
            except SfNotebookError as exc:
                session.renewals += 1
                self._failed_exchange = (session.renewals, exc)
                raise
            session.renewals += 1
            self._failed_exchange = None
            self._token = token
            self.session.auth = BearerAuth(token.access_token, self.instance_url)
            if self._sf is not None:
                self._sf.session_id = token.access_token.reveal()
            return True

    def _auth_timeout(self) -> tuple[float, float]:
        """The token exchange's timeouts: the auth module's, or the connection's if shorter."""
        mine = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        return (min(mine[0], AUTH_TIMEOUT[0]), min(mine[1], AUTH_TIMEOUT[1]))

    def clear_cache(self) -> int:
        """Remove this org and user's results from the rerun cache; how many were removed."""
        from sfnotebook._rerun import clear_cache

        return clear_cache(self)

    def close(self, *, revoke: bool = True) -> None:
        """Revoke the token (``/services/oauth2/revoke``) and forget it."""
        if revoke and self._token is not None:
            revoke_token(self.settings, self.session, self._token)
        self.closed = True
        self.session.reauthenticate = None
        self.session.auth = None
        _defaults.forget(self)

    # -- HTTP ---------------------------------------------------------------------------------
    def url(self, url: str) -> str:
        """Absolute URL for ``url``: relative to the API base, an absolute path, or a full URL."""
        if url.startswith(("https://", "http://")):
            parts = urlsplit(url)
            if (
                parts.netloc != self.session.instance_host
                or parts.scheme != urlsplit(self.instance_url).scheme
            ):
                where = f"{parts.scheme}://{parts.netloc}{parts.path}"
                raise SfNotebookError(f"Refusing to send the session to another host: {where}")
            return url
        if url.startswith("/"):
            return self.instance_url + url
        return f"{self.instance_url}{self.base_path}/{url}"

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
        """Send one API call with the connection's policy; raise the typed error on >= 400.

        ``reauth=False``: a 401 ``INVALID_SESSION_ID`` is raised (``SessionExpiredError``)
        instead of re-exchanging the credentials and resending.
        """
        if self.closed:
            # Without this the call goes out with no token and comes back INVALID_SESSION_ID,
            # which reads like an expiry, not like the user's own close().
            raise ConnectionClosedError(
                f"This connection ({self.name}) was closed; connect() again: "
                "org = sfnotebook.connect()."
            )
        full = self.url(url)
        path = urlsplit(full).path
        failure: SfNotebookError | None = None
        try:
            resp = self.session.request(
                method,
                full,
                params=params,
                json=json,
                data=data,
                headers=headers,
                stream=stream,
                timeout=timeout or self.timeout,
                idempotent=retry,
                reauth=reauth,
            )
        except requests.RequestException as exc:
            failure = network_error(exc, self.session.instance_host or "", self.settings.ca_bundle)
        if failure is not None:  # raised outside the except block: requests' frames not chained
            raise failure
        log.debug("%s %s -> %s", method, path, resp.status_code)
        if resp.status_code >= 400:
            raise self._error(resp, path)
        return resp

    def _error(self, resp: requests.Response, path: str) -> SfNotebookError:
        try:
            body: Any = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            body = resp.text
        error = error_from_body(resp.status_code, body, url=path)
        if isinstance(error, RequestLimitExceededError):
            usage = self.api_usage
            if usage:
                error.message += (
                    f"\nAPI usage: {usage[0]:,} of {usage[1]:,} requests in the last 24 hours."
                )
            error.args = (error.message,)
        return add_hint(self, error)

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
        """GET ``url`` and decode the JSON answer.

        An answer that is not JSON (an HTML page, empty, truncated), ``null``, or an error array
        carried by a 2xx raises :class:`~sfnotebook.errors.UnexpectedAnswerError`; so does one
        of another shape than asked for.

        Parameters
        ----------
        url : str
            A path relative to the API base (``"limits"``), an absolute path, or a URL.
        params, headers : dict, optional
            Query parameters and extra request headers.
        expect : type, optional
            The type the answer's top level must have: ``dict`` (an object) or ``list``.
        fields : dict, optional
            ``{key: type}`` the object must carry (``str``, ``int``, ``bool``, ``float``,
            ``dict``, ``list``, or a tuple of them; ``None`` in a tuple: the key may be absent
            or null).
        items : dict, optional
            ``{key: type}`` every object of an array answer must carry.

        Examples
        --------
        >>> org.get_json("analytics/reports", expect=list)  # doctest: +SKIP
        """
        resp = self.request("GET", url, params=params, headers=headers)
        endpoint = f"GET {urlsplit(resp.url or url).path}"
        return decode_json(resp, endpoint=endpoint, expect=expect, fields=fields, items=items)

    def describe(self, sobject: str) -> JsonObject:
        """The object's describe (``/sobjects/{name}/describe``), cached per connection.

        Parameters
        ----------
        sobject : str
            The object's API name (``"Account"``, ``"Invoice__c"``), in any case.

        Raises
        ------
        InvalidArgumentError
            ``sobject`` is not an API name (``"Account/../limits"``); nothing is sent.

        Returns
        -------
        dict
            Salesforce's describe: ``fields`` (name, type, label, length, picklistValues, ...),
            ``childRelationships``, ``createable`` and the rest, as Salesforce sends them.

        Examples
        --------
        >>> [f["name"] for f in org.describe("Account")["fields"]][:3]  # doctest: +SKIP
        ['Id', 'IsDeleted', 'MasterRecordId']
        """
        api_name(sobject, argument="sobject", what="an object's API name")
        # One request per object, whatever the number of threads asking at once: the others
        # wait for it and share its answer (the same dict), or its failure. SObjectDescribe:
        # the same dict, shown in a notebook as a compact card (sfnotebook.browse).
        return self._describes.get(
            sobject.lower(), lambda: SObjectDescribe(self._fetch_describe(sobject))
        )

    def _kept_describe(self, sobject: str) -> JsonObject | None:
        """The describe this connection or the disk cache holds, not revalidated; no request.

        A hint for planning, never for typing: the query planner can read which objects a
        query's relationships lead to from it, and then ask :meth:`describe` for all of them
        at once (each revalidation one request, all in the same wave as page 1). None when
        neither holds one.
        """
        api_name(sobject, argument="sobject", what="an object's API name")
        held = self._describes.peek(sobject.lower())
        if held is not None:
            return held
        if not self.describe_cache:
            return None
        cache = DescribeCache.for_user(self.org_id, self.user_id, self.api_version)
        kept = cache.load(sobject) if cache is not None else None
        return kept.describe if kept is not None else None

    def _fetch_describe(self, sobject: str) -> JsonObject:
        """The describe from the org, or the kept copy the org says is still current (304)."""
        cache = (
            DescribeCache.for_user(self.org_id, self.user_id, self.api_version)
            if self.describe_cache
            else None
        )
        kept = cache.load(sobject) if cache is not None else None
        headers = {"If-Modified-Since": kept.stamp} if kept is not None else None
        resp = self.request("GET", f"sobjects/{sobject}/describe", headers=headers)
        if resp.status_code == 304 and kept is not None:
            return kept.describe
        describe = decode_describe(resp, sobject)  # a 304 to no If-Modified-Since: an error
        if cache is not None:
            cache.store(sobject, resp, describe)
        return describe

    def _choose_version(self, pinned: str | None, offered: list[str]) -> str:
        """The pinned version if the org offers it, else the newest the org lists."""
        if pinned is None:
            return offered[-1]
        if pinned not in offered:
            raise InvalidSettingError(
                f"SF_API_VERSION {pinned} is not offered by this org (it offers {offered[0]} to "
                f"{offered[-1]}; older versions are retired). Unset it to use {offered[-1]}."
            )
        return pinned

    def _fetch_identity(self) -> dict[str, Any]:
        path = urlsplit(self.token.identity_url).path
        try:
            resp = self.request("GET", path)
        except (SalesforceError, NetworkError) as exc:
            # Salesforce refused (no identity scope, say): the user Id is enough to go on. An
            # answer that is not Salesforce's (decode_identity) is raised: it means something
            # else answers on the instance host.
            log.info("identity URL unreadable (%s); showing the user Id only", exc.error_code)
            return {}
        return decode_identity(resp)

    # -- verbs: each is its wing's function, imported on first use -------------------------------
    if TYPE_CHECKING:
        query = soql.query
        query_iter = soql.query_iter
        describe_report = reports.describe_report
        report = reports.report
        extract = bulk.extract
        job_results = bulk.job_results
        insert = ingest.insert
        update = ingest.update
        upsert = ingest.upsert
        delete = ingest.delete
        dashboard = dashboards.dashboard
        objects = browse.objects
        fields = browse.fields
        picklist = browse.picklist
        limits = browse.limits
        reports = reports.reports  # last: these names shadow the modules in this class body
        dashboards = dashboards.dashboards
    else:
        query = _Verb("soql")
        query_iter = _Verb("soql")
        report = _Verb("reports")
        reports = _Verb("reports")
        describe_report = _Verb("reports")
        extract = _Verb("bulk")
        job_results = _Verb("bulk")
        insert = _Verb("ingest")
        update = _Verb("ingest")
        upsert = _Verb("ingest")
        delete = _Verb("ingest")
        dashboards = _Verb("dashboards")
        dashboard = _Verb("dashboards")
        objects = _Verb("browse")
        fields = _Verb("browse")
        picklist = _Verb("browse")
        limits = _Verb("browse")

    @property
    def token(self) -> Token:
        """The current token (its ``repr`` hides the secret value)."""
        if self._token is None:
            raise SfNotebookError("This connection is not logged in yet: call its open().")
        return self._token
