"""The secret sweep: every failing public call, rendered as every traceback style prints it.

Tracebacks with locals show the ``repr`` of every local of every frame: pytest ``-l``,
``traceback.TracebackException(capture_locals=True)`` (what Sentry-style reporters do), and
IPython's ``%xmode Verbose`` (whose output is saved in the notebook). For each failure a user
can provoke against the demo org (and a rewriting HTTPS server in front of it), neither the
consumer secret nor any access token the demo org issued may appear in any of them; nor in
the ``repr``/``str``/pickle of Settings, Token and Connection, nor in the login panel's widget
state.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from _pytest._code import ExceptionInfo

import sfnotebook
from sfnotebook import errors
from sfnotebook.connection import Connection
from sfnotebook.settings import load_settings
from sfnotebook_demo.faults import FaultConfig
from tests.adversarial.proxy import RewritingProxy
from tests.conftest import connect_to

TOKEN_SHAPE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Login | Salesforce</title></head>"
    b"<body><form id='login' action='/'>Username Password</form></body></html>"
)


# -- the three renderings (and a stricter fourth) ------------------------------------------------


def _traceback_locals(exc: BaseException) -> str:
    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return "".join(te.format())


def _pytest_showlocals(exc: BaseException) -> str:
    return str(ExceptionInfo.from_exception(exc).getrepr(showlocals=True, style="long"))


def _ipython_verbose(exc: BaseException) -> str:
    from IPython.core.ultratb import VerboseTB

    return str(VerboseTB(theme_name="nocolor").text(type(exc), exc, exc.__traceback__))


def _every_frame_of_the_chain(exc: BaseException) -> str:
    """Stricter than any reporter: every frame of every chained exception, suppressed or not."""
    out: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(repr(e) + str(e))
        tb: TracebackType | None = e.__traceback__
        while tb is not None:
            for name, value in tb.tb_frame.f_locals.items():
                try:
                    out.append(f"{name}={value!r}")
                except Exception as failure:  # a repr that raises is a finding of its own
                    out.append(f"{name}=<repr raised {failure!r}>")
            tb = tb.tb_next
        todo += [e.__cause__, e.__context__]
    return "\n".join(out)


STYLES: dict[str, Callable[[BaseException], str]] = {
    "TracebackException(capture_locals=True)": _traceback_locals,
    "pytest -l": _pytest_showlocals,
    "IPython VerboseTB": _ipython_verbose,
    "every frame, whole chain": _every_frame_of_the_chain,
}


# -- the demo org, its tokens, and a bad proxy in front of it --------------------------------------


class Sweep:
    """The demo org, the proxy, and every secret value and token in play."""

    def __init__(self, demo: Any, proxy: RewritingProxy) -> None:
        self.demo = demo
        self.proxy = proxy
        self.issued: list[str] = []
        self.secrets: set[str] = {demo.consumer_secret, demo.consumer_secret[::-1]}
        self.secrets |= {s for _, s in demo.apps.values()}
        tokens = demo.server.tokens
        issue = tokens.issue

        def recording_issue(*args: Any, **kwargs: Any) -> Any:
            token, info = issue(*args, **kwargs)
            self.issued.append(token)
            return token, info

        tokens.issue = recording_issue

    def kwargs(self, **changes: Any) -> dict[str, Any]:
        base = {**self.demo.connect_kwargs(), "env_file": False, "set_default": False}
        return {**base, "backoff": 0.01, **changes}

    def leaks(self, text: str) -> list[str]:
        found = [f"secret {s[:4]}..." for s in self.secrets if s in text]
        found += [f"token {t[:18]}..." for t in self.issued if t in text]
        if TOKEN_SHAPE.search(text):
            found.append("something shaped like a session id")
        return found


@pytest.fixture(scope="module")
def sweep() -> Iterator[Sweep]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as demo, RewritingProxy(demo) as proxy:
        yield Sweep(demo, proxy)


@pytest.fixture
def fresh(sweep: Sweep) -> Iterator[Sweep]:
    sweep.demo.set_faults(**FaultConfig.defaults())
    sweep.proxy.clear()
    yield sweep
    sweep.demo.set_faults(**FaultConfig.defaults())
    sweep.proxy.clear()


# -- the failing calls ------------------------------------------------------------------------------


def _connect(s: Sweep, **changes: Any) -> Any:
    return sfnotebook.connect(**s.kwargs(**changes))


def _via_proxy(s: Sweep) -> Any:
    return sfnotebook.connect(
        **s.proxy.connect_kwargs(), env_file=False, set_default=False, backoff=0.01
    )


def _wrong_secret(s: Sweep) -> Any:
    return _connect(s, consumer_secret=s.demo.consumer_secret[::-1])


def _wrong_key(s: Sweep) -> Any:
    return _connect(s, consumer_key="3MVG9unknownKeyForTheSweep")


def _no_run_as(s: Sweep) -> Any:
    key, secret = s.demo.apps["no_run_as"]
    return _connect(s, consumer_key=key, consumer_secret=secret)


def _flow_disabled(s: Sweep) -> Any:
    key, secret = s.demo.apps["flow_disabled"]
    return _connect(s, consumer_key=key, consumer_secret=secret)


def _login_host(s: Sweep) -> Any:
    return _connect(s, domain=s.demo.login_domain)


def _dns_failure(s: Sweep) -> Any:
    return _connect(s, domain="no-such-org-for-the-sweep.invalid")


def _refused(s: Sweep) -> Any:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return _connect(s, domain=f"127.0.0.1:{port}")


def _tls_failure(s: Sweep) -> Any:
    return _connect(s, ca_bundle=None)


def _http_domain(s: Sweep) -> Any:
    return _connect(s, domain="http://acme.my.salesforce.com")


def _bad_ca_path(s: Sweep) -> Any:
    return _connect(s, ca_bundle="/nonexistent/ca.pem")


def _missing_domain_secret_in_environment(s: Sweep) -> Any:
    mp = pytest.MonkeyPatch()
    mp.setenv("SF_CONSUMER_SECRET", s.demo.consumer_secret)
    try:
        return sfnotebook.connect(consumer_key="3MVG9somekey", env_file=False, set_default=False)
    finally:
        mp.undo()


def _missing_key_secret_in_env_file(s: Sweep) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / ".env"
        env.write_text(f"SF_DOMAIN={s.demo.domain}\nSF_CONSUMER_SECRET={s.demo.consumer_secret}\n")
        return sfnotebook.connect(env_file=env, set_default=False)


def _pinned_version_not_offered(s: Sweep) -> Any:
    return _connect(s, api_version="20.0")


def _token_endpoint_503(s: Sweep) -> Any:
    s.demo.set_faults(apply_to=("token",), error_next=2)  # the exchange is retried once
    return _connect(s, retries=1)


def _token_endpoint_500_html(s: Sweep) -> Any:
    s.proxy.answer("POST", r"^/services/oauth2/token$", 500, b"<html>Internal Server Error</html>")
    return _via_proxy(s)


def _token_endpoint_login_page(s: Sweep) -> Any:
    s.proxy.answer("POST", r"^/services/oauth2/token$", 200, LOGIN_PAGE)
    return _via_proxy(s)


def _versions_login_page(s: Sweep) -> Any:
    s.proxy.answer("GET", r"^/services/data/?$", 200, LOGIN_PAGE)
    return _via_proxy(s)


def _versions_truncated(s: Sweep) -> Any:
    s.proxy.answer("GET", r"^/services/data/?$", 200, b'[{"label": "Winter', "application/json")
    return _via_proxy(s)


def _identity_null(s: Sweep) -> Any:
    s.proxy.answer("GET", r"^/id/", 200, b"null", "application/json")
    return _via_proxy(s).username  # the identity is asked on first use


def _limits_login_page(s: Sweep) -> Any:
    org = _via_proxy(s)
    s.proxy.answer("GET", r"/limits/?$", 200, LOGIN_PAGE)
    return org.limits()


def _describe_empty(s: Sweep) -> Any:
    org = _via_proxy(s)
    s.proxy.answer("GET", r"/describe/?$", 200, b"", "application/json")
    return org.describe("Account")


def _get_json_error_array(s: Sweep) -> Any:
    org = _via_proxy(s)
    s.proxy.answer(
        "GET",
        r"/sobjects/?$",
        200,
        b'[{"errorCode": "UNKNOWN_EXCEPTION", "message": "boom"}]',
        "application/json",
    )
    return org.get_json("sobjects")


def _bulk_page_error_array_with_the_token(s: Sweep) -> Any:
    """A result page answered 200 with an error array that echoes the session's own token."""
    org = _via_proxy(s)
    echo = f'[{{"errorCode":"INVALID_SESSION_ID","message":"Session {s.issued[-1]} expired"}}]'
    s.proxy.answer("GET", r"/jobs/query/750\w+/results", 200, echo.encode(), "text/csv")
    return org.extract("SELECT Id FROM Account", progress=False, poll_interval=0.01)


def _bulk_status_a_list(s: Sweep) -> Any:
    org = _via_proxy(s)
    s.proxy.answer(
        "GET", r"/jobs/query/750\w+$", 200, b'[{"state": "JobComplete"}]', "application/json"
    )
    return org.extract("SELECT Id FROM Account", progress=False, poll_interval=0.01)


def _report_describe_a_list(s: Sweep) -> Any:
    org = _via_proxy(s)
    s.proxy.answer("GET", r"/analytics/reports/00O\w+/describe$", 200, b"[]", "application/json")
    return org.report("Pipeline by Stage", filters=[("AMOUNT", "greaterThan", 1)], progress=False)


def _bad_soql(s: Sweep) -> Any:
    return connect_to(s.demo).query("SELECT Nope FROM Account", progress=False)


def _unknown_object(s: Sweep) -> Any:
    return connect_to(s.demo).describe("Nope__c")


def _get_json_404(s: Sweep) -> Any:
    return connect_to(s.demo).get_json("sobjects/Account/001000000000000AAA")


def _foreign_url(s: Sweep) -> Any:
    return connect_to(s.demo).request("GET", "https://example.com/services/data/")


def _report_not_found(s: Sweep) -> Any:
    return connect_to(s.demo).report("No Such Report In The Sweep", progress=False)


def _dashboard_not_found(s: Sweep) -> Any:
    return connect_to(s.demo).dashboard("No Such Dashboard In The Sweep")


def _dashboard_filter_refused(s: Sweep) -> Any:
    return connect_to(s.demo).dashboard("Sales Pipeline", filters={"Lead Source": "Nowhere"})


def _bulk_job_failed(s: Sweep) -> Any:
    org = connect_to(s.demo)
    s.demo.set_faults(fail_bulk_jobs=True)
    return org.extract("SELECT Id FROM Account", progress=False)


def _server_unavailable(s: Sweep) -> Any:
    org = connect_to(s.demo, retries=1)
    s.demo.set_faults(error_rate=1.0)
    return org.limits()


def _dropped_connection(s: Sweep) -> Any:
    org = connect_to(s.demo, retries=0)
    s.demo.set_faults(drop_rate=1.0)
    return org.query("SELECT Id FROM Account LIMIT 5", progress=False)


def _request_limit(s: Sweep) -> Any:
    org = connect_to(s.demo)
    s.demo.set_faults(request_limit=1)
    return org.query("SELECT Id FROM Account LIMIT 5", progress=False)


def _expired_then_reexchange_refused(s: Sweep) -> Any:
    org = connect_to(s.demo, retries=1)
    s.demo.expire_sessions()
    s.demo.set_faults(apply_to=("token",), error_next=2)  # the exchange is retried once
    return org.query("SELECT Id FROM Account LIMIT 5", progress=False)


def _expired_then_query_fails(s: Sweep) -> Any:
    org = connect_to(s.demo)
    s.demo.expire_sessions()
    return org.query("SELECT Nope FROM Account", progress=False)


def _revoke_twice(s: Sweep) -> Any:
    org = connect_to(s.demo)
    org.close()
    return org.close()


def _simple_salesforce_query(s: Sweep) -> Any:
    return connect_to(s.demo).sf.query("SELECT Nope FROM Account")


CALLS: dict[str, Callable[[Sweep], Any]] = {
    "wrong secret": _wrong_secret,
    "wrong key": _wrong_key,
    "no Run As user": _no_run_as,
    "flow disabled": _flow_disabled,
    "login host": _login_host,
    "DNS failure": _dns_failure,
    "connection refused": _refused,
    "TLS failure": _tls_failure,
    "http domain": _http_domain,
    "CA bundle missing": _bad_ca_path,
    "missing domain, secret in the environment": _missing_domain_secret_in_environment,
    "missing key, secret in .env": _missing_key_secret_in_env_file,
    "pinned version not offered": _pinned_version_not_offered,
    "token endpoint 503": _token_endpoint_503,
    "token endpoint 500 HTML": _token_endpoint_500_html,
    "token endpoint login page 200": _token_endpoint_login_page,
    "versions login page 200": _versions_login_page,
    "versions truncated": _versions_truncated,
    "identity null": _identity_null,
    "limits login page": _limits_login_page,
    "describe empty": _describe_empty,
    "get_json error array 200": _get_json_error_array,
    "bulk page error array echoing the token": _bulk_page_error_array_with_the_token,
    "bulk status a list": _bulk_status_a_list,
    "report describe a list": _report_describe_a_list,
    "bad SOQL": _bad_soql,
    "unknown object": _unknown_object,
    "get_json 404": _get_json_404,
    "foreign URL": _foreign_url,
    "report not found": _report_not_found,
    "dashboard not found": _dashboard_not_found,
    "dashboard filter refused": _dashboard_filter_refused,
    "bulk job failed": _bulk_job_failed,
    "503 after retries": _server_unavailable,
    "dropped connection": _dropped_connection,
    "request limit": _request_limit,
    "expired, re-exchange refused": _expired_then_reexchange_refused,
    "expired, then bad SOQL": _expired_then_query_fails,
    "revoke twice": _revoke_twice,
    "org.sf query": _simple_salesforce_query,
}


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_no_secret_or_token_in_any_traceback(fresh: Sweep, call: str) -> None:
    before = len(fresh.issued)
    with pytest.raises(Exception) as info:
        CALLS[call](fresh)
    exc = info.value
    if call != "org.sf query":  # simple-salesforce raises its own types
        assert isinstance(exc, errors.SfNotebookError), repr(exc)
    _cut_the_callers_frames(exc)
    rendered = {style: render(exc) for style, render in STYLES.items()}
    leaks = {style: fresh.leaks(text) for style, text in rendered.items()}
    assert {style: found for style, found in leaks.items() if found} == {}
    SWEPT.add(call)
    if len(fresh.issued) > before:
        WITH_TOKENS.add(call)


def _cut_the_callers_frames(exc: BaseException) -> None:
    """Drop the sweep's own frames (they stand in for the user's cell, which holds what the
    user typed): rendering starts at the first frame outside ``tests/``."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(str(TESTS)):
        tb = tb.tb_next
    assert tb is not None, "the error was raised by the sweep itself"
    exc.__traceback__ = tb


TESTS = Path(__file__).resolve().parents[1]


# Filled as the sweep runs; the summary test checks the sweep had tokens to find.
SWEPT: set[str] = set()
WITH_TOKENS: set[str] = set()


def test_the_sweep_had_tokens_to_find(sweep: Sweep) -> None:
    if len(SWEPT) < len(CALLS):
        pytest.skip("run with the whole sweep")
    assert len(WITH_TOKENS) >= 15, sorted(WITH_TOKENS)


def test_the_sweep_sees_a_clear_secret_in_a_local() -> None:
    """The renderings print locals: a clear secret in a frame is caught by every style."""
    secret = "clear-secret-in-a-local-0123456789"

    def leaky(value: str) -> None:
        raise ValueError("boom")

    try:
        leaky(secret)
    except ValueError as exc:
        for style, render in STYLES.items():
            assert secret in render(exc), style


# -- the objects a user pokes at ----------------------------------------------------------------------


def _texts(obj: Any) -> list[str]:
    out = [repr(obj), str(obj), f"{obj}"]
    try:
        out.append(repr(pickle.dumps(obj)))
    except (TypeError, pickle.PicklingError, AttributeError) as exc:
        out.append(repr(exc))
    html = getattr(obj, "_repr_html_", None)
    if callable(html):
        out.append(str(html()))
    return out


def test_objects_show_nothing_at_every_stage(fresh: Sweep) -> None:
    settings = load_settings(
        **{
            k: v
            for k, v in fresh.kwargs().items()
            if k in ("domain", "consumer_key", "consumer_secret", "ca_bundle", "env_file")
        }
    )
    half = Connection.__new__(Connection)  # as a traceback inside __init__ would see it
    stages: dict[str, Any] = {"settings": settings, "half-built connection": half}
    conn = Connection(settings)
    stages["connection before open"] = conn
    conn.open()
    stages.update(
        {
            "connection": conn,
            "token": conn.token,
            "secret": settings.consumer_secret,
            "access token": conn.token.access_token,
            "session": conn.session,
            "session auth": conn.session.auth,
            "session headers": dict(conn.session.headers),
            "simple-salesforce": conn.sf,
            "simple-salesforce headers": dict(conn.sf.headers),
        }
    )
    texts = {name: _texts(obj) for name, obj in stages.items()}
    conn.close()
    texts["closed connection"] = _texts(conn)
    assert fresh.issued
    leaks = {name: fresh.leaks("\n".join(t)) for name, t in texts.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
    for name in ("settings", "token", "secret", "connection"):
        with pytest.raises(TypeError, match="pickle"):
            pickle.dumps(stages[name])


def test_the_login_panel_keeps_no_secret_in_widget_state(
    fresh: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ipywidgets")
    from sfnotebook.notebook.widgets import LoginPanel

    monkeypatch.setenv("SF_CONSUMER_SECRET", fresh.demo.consumer_secret)
    panel = LoginPanel(env_file=False, connect_options={"backoff": 0.01})
    states = [_state(panel)]
    panel.domain.value = fresh.demo.domain
    panel.consumer_key.value = fresh.demo.consumer_key
    panel.ca_bundle.value = fresh.demo.ca_bundle
    panel.consumer_secret.value = fresh.demo.consumer_secret  # typed: wins over the environment
    states.append(_state(panel))
    panel.connect_button.click()
    assert panel.connection is not None, panel.status.value
    states.append(_state(panel))
    panel.consumer_secret.value = fresh.demo.consumer_secret[::-1]
    panel.connect_button.click()
    assert panel.connection is None
    states.append(_state(panel))
    texts = states + _texts(panel)
    assert fresh.issued
    assert [fresh.leaks(t) for t in texts if fresh.leaks(t)] == []


def _state(panel: Any) -> str:
    out = io.StringIO()
    todo = [panel]
    while todo:
        widget = todo.pop()
        out.write(json.dumps(widget.get_state(), default=repr))
        todo += list(getattr(widget, "children", ()))
    return out.getvalue()
