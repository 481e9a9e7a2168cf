"""The :class:`DemoOrg` handle: start a demo org in a thread or a subprocess, and drive it.

Import it as ``from sfnotebook_demo import DemoOrg`` (documented in :mod:`sfnotebook_demo`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess as _subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sfnotebook_demo.dialect import Dialect

if TYPE_CHECKING:
    from sfnotebook_demo.faults import FaultConfig
    from sfnotebook_demo.server import DemoServer

__all__ = ["CONFIG_ENV", "DemoOrg", "DemoOrgError"]

# Environment variable through which a parent hands secrets and faults to a subprocess demo
# org (never on the command line, where other local users could read them).
CONFIG_ENV = "SFNOTEBOOK_DEMO_CONFIG"
SERVER_FILE = "server.json"
START_TIMEOUT = 300.0  # building a 1M-opportunity data set takes a while the first time


class DemoOrgError(RuntimeError):
    """The demo org could not start or did not answer."""


def _terminate(proc: _subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except _subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


class DemoOrg:
    """A running demo org, as a context manager.

    Parameters
    ----------
    opportunities
        Number of Opportunity rows in the data set (built once, then cached).
    token_lifetime
        Seconds an access token lives (default: 7200, Salesforce's default).
    faults
        Fault options (a :class:`~sfnotebook_demo.faults.FaultConfig` or a dict of its
        fields); change them later with :meth:`set_faults`.
    dialect
        How the org answers where Salesforce's behaviour is unknown: a
        :class:`~sfnotebook_demo.dialect.Dialect`, a dict of its switches, or
        ``"name=value,..."``; change it later with :meth:`set_dialect`.
    subprocess
        Run the server in a child process instead of a background thread (for benchmarks
        whose client must not share the GIL with the server).
    port
        TCP port on 127.0.0.1; 0 picks a free one.
    state_dir
        Where the CA bundle (and, in subprocess mode, the server's state file) is written;
        a temporary directory removed on exit when None.
    seed
        Seed of the generated data (see :mod:`sfnotebook_demo.data.database`).
    features
        Feature modules to load (``"sobjects"``, ``"soql"``, ``"reports"``, ``"bulk"``);
        all by default.
    gzip_level
        zlib level of gzip-compressed responses to clients that accept gzip, as Salesforce
        compresses them (0 never compresses: less CPU on a machine that runs both ends).

    Examples
    --------
    >>> with DemoOrg(opportunities=5_000) as demo:      # doctest: +SKIP
    ...     requests.get(demo.url + "/services/data/", verify=demo.ca_bundle).json()[-1]
    {'label': "Winter '27", 'url': '/services/data/v68.0', 'version': '68.0'}
    """

    def __init__(
        self,
        *,
        opportunities: int = 50_000,
        token_lifetime: float | None = None,
        faults: FaultConfig | dict[str, Any] | None = None,
        dialect: Dialect | dict[str, Any] | str | None = None,
        subprocess: bool = False,
        port: int = 0,
        state_dir: str | Path | None = None,
        seed: int | None = None,
        features: tuple[str, ...] | None = None,
        gzip_level: int = 1,
    ) -> None:
        self.features = features
        self.gzip_level = gzip_level
        self.opportunities = opportunities
        self.token_lifetime = token_lifetime
        self.subprocess = subprocess
        self._faults = faults
        self._dialect = Dialect.of(dialect)  # refused here, before any server starts
        self._port = port
        self._state_dir_arg = Path(state_dir) if state_dir is not None else None
        self._seed = seed
        self._server: DemoServer | None = None
        self._proc: _subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None
        self._admin_key = ""
        self._apps: dict[str, tuple[str, str]] = {}
        self.url = ""
        self.domain = ""
        self.login_domain = ""
        self.ca_bundle = ""
        self.port = 0
        self.org_id = ""
        self.user_id = ""

    # ---- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> DemoOrg:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        mode = "subprocess" if self.subprocess else "thread"
        state = self.url or "not started"
        return f"<DemoOrg {state} ({mode})>"

    @property
    def running(self) -> bool:
        return self._server is not None or self._proc is not None

    def start(self) -> DemoOrg:
        """Start the server and wait until it answers."""
        if self.running:
            raise DemoOrgError("this demo org is already running")
        from sfnotebook_demo.rest.oauth import make_apps

        if self._state_dir_arg is None:
            self._tmp = tempfile.mkdtemp(prefix="sfnotebook-demo-")
            state_dir = Path(self._tmp)
        else:
            state_dir = self._state_dir_arg
            state_dir.mkdir(parents=True, exist_ok=True)
        apps = make_apps()
        import secrets

        self._admin_key = secrets.token_urlsafe(32)
        self._apps = {name: (a.consumer_key, a.consumer_secret) for name, a in apps.items()}
        try:
            if self.subprocess:
                self._start_subprocess(state_dir)
            else:
                self._start_thread(state_dir, apps)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_thread(self, state_dir: Path, apps: Any) -> None:
        from sfnotebook_demo.server import FEATURE_MODULES, DemoServer

        server = DemoServer(
            port=self._port,
            state_dir=state_dir,
            opportunities=self.opportunities,
            token_lifetime=self.token_lifetime,
            faults=self._faults,
            dialect=self._dialect,
            apps=apps,
            admin_key=self._admin_key,
            seed=self._seed,
            features=FEATURE_MODULES if self.features is None else tuple(self.features),
            gzip_level=self.gzip_level,
        )
        server.start()
        self._server = server
        self._adopt(
            {
                "url": server.url,
                "port": server.port,
                "ca_bundle": str(server.ca_bundle),
                "org_id": server.org.org_id,
                "user_id": server.user.id,
            }
        )

    def _start_subprocess(self, state_dir: Path) -> None:
        from sfnotebook_demo.faults import FaultConfig

        faults = self._faults
        if isinstance(faults, FaultConfig):
            faults = faults.as_dict()
        config = {
            "apps": self._apps,
            "admin_key": self._admin_key,
            "faults": faults or {},
            "dialect": self._dialect.as_dict(),
        }
        server_file = state_dir / SERVER_FILE
        server_file.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "sfnotebook_demo",
            "serve",
            "--port",
            str(self._port),
            "--state-dir",
            str(state_dir),
            "--opportunities",
            str(self.opportunities),
        ]
        if self.token_lifetime is not None:
            cmd += ["--token-lifetime", str(self.token_lifetime)]
        if self._seed is not None:
            cmd += ["--seed", str(self._seed)]
        if self.features is not None:
            cmd += ["--features", ",".join(self.features)]
        cmd += ["--gzip-level", str(self.gzip_level)]
        env = dict(os.environ)
        env[CONFIG_ENV] = json.dumps(config)
        log_path = state_dir / "server.log"
        with open(log_path, "wb") as log:
            self._proc = _subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
                cmd, env=env, stdout=log, stderr=_subprocess.STDOUT, stdin=_subprocess.DEVNULL
            )
        # A DemoOrg forgotten without stop() must not leave its server running after exit.
        weakref.finalize(self, _terminate, self._proc)
        deadline = time.monotonic() + START_TIMEOUT
        while not server_file.exists():
            if self._proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise DemoOrgError(f"the demo org process exited at start-up:\n{tail}")
            if time.monotonic() > deadline:
                raise DemoOrgError(f"the demo org did not start within {START_TIMEOUT:.0f} s")
            time.sleep(0.05)
        self._adopt(json.loads(server_file.read_text()))

    def _adopt(self, info: dict[str, Any]) -> None:
        self.port = int(info["port"])
        self.url = str(info["url"])
        self.domain = f"127.0.0.1:{self.port}"
        self.login_domain = f"localhost:{self.port}"
        self.ca_bundle = str(info["ca_bundle"])
        self.org_id = str(info.get("org_id", ""))
        self.user_id = str(info.get("user_id", ""))

    def _wait_ready(self) -> None:
        import urllib.error

        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/services/data/", admin=False)
                return
            except (OSError, urllib.error.URLError) as exc:
                if self._proc is not None and self._proc.poll() is not None:
                    raise DemoOrgError("the demo org process exited at start-up") from exc
                if time.monotonic() > deadline:
                    raise DemoOrgError(f"the demo org at {self.url} does not answer") from exc
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (idempotent) and remove the temporary state directory."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._proc is not None:
            _terminate(self._proc)
            self._proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # ---- credentials -----------------------------------------------------------------------

    @property
    def consumer_key(self) -> str:
        """Consumer key of the working connected app."""
        return self._apps["ok"][0]

    @property
    def consumer_secret(self) -> str:
        """Consumer secret of the working connected app."""
        return self._apps["ok"][1]

    @property
    def apps(self) -> dict[str, tuple[str, str]]:
        """The broken connected apps: ``{"no_run_as": (key, secret), "flow_disabled": ...}``."""
        return {name: creds for name, creds in self._apps.items() if name != "ok"}

    def env(self) -> dict[str, str]:
        """Settings for ``sfnotebook.connect()``: SF_DOMAIN, SF_CONSUMER_KEY, ... ."""
        return {
            "SF_DOMAIN": self.domain,
            "SF_CONSUMER_KEY": self.consumer_key,
            "SF_CONSUMER_SECRET": self.consumer_secret,
            "SF_CA_BUNDLE": self.ca_bundle,
        }

    def connect_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``sfnotebook.connect(**demo.connect_kwargs())``."""
        return {
            "domain": self.domain,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "ca_bundle": self.ca_bundle,
        }

    def write_env(self, path: str | Path) -> Path:
        """Write :meth:`env` as a ``.env`` file (mode 0600); the path written."""
        path = Path(path)
        text = "".join(f"{k}={v}\n" for k, v in self.env().items())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return path

    # ---- runtime control -------------------------------------------------------------------

    def set_faults(self, **options: Any) -> None:
        """Change fault options at runtime (names as in ``FaultConfig``)."""
        if self._server is not None:
            self._server.set_faults(**options)
            return
        self._call("POST", "/__demo__/faults", options)

    def set_dialect(self, **options: Any) -> dict[str, Any]:
        """Change dialect switches at runtime (names as in ``Dialect``); the whole dialect."""
        if self._server is not None:
            return self._server.set_dialect(**options)
        result: dict[str, Any] = self._call("POST", "/__demo__/dialect", options)
        return result

    def stats(self) -> dict[str, Any]:
        """Requests served (total, by kind, by status), faults injected, tokens, API usage."""
        if self._server is not None:
            return self._server.stats()
        result: dict[str, Any] = self._call("GET", "/__demo__/stats")
        return result

    def expire_sessions(self) -> int:
        """Invalidate every access token now (the next API call gets 401 INVALID_SESSION_ID)."""
        if self._server is not None:
            return self._server.expire_sessions()
        return int(self._call("POST", "/__demo__/expire-sessions")["expired"])

    @property
    def server(self) -> DemoServer | None:
        """The in-process server (thread mode only), for tests that need its internals."""
        return self._server

    def _call(self, method: str, path: str, payload: Any = None, *, admin: bool = True) -> Any:
        import ssl
        import urllib.error
        import urllib.request

        if not self.url or not self.running:
            raise DemoOrgError("the demo org is not running")
        context = ssl.create_default_context(cafile=self.ca_bundle)
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if admin:
            headers["X-Demo-Admin-Key"] = self._admin_key
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)  # noqa: S310 - https URL of our own server
        try:
            with urllib.request.urlopen(req, context=context, timeout=30) as resp:  # noqa: S310 - same
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise DemoOrgError(f"demo org {method} {path} failed: {exc.code} {detail}") from None
        return json.loads(body) if body else None
