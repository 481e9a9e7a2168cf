"""One walk through every public path with a known secret and token: neither may show up in
any repr, str, exception message or traceback, log record, widget state, executed-notebook
output or cassette file."""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sfnotebook
from sfnotebook import connection as connection_module
from sfnotebook import errors
from tests.cassettes import vcr_setup
from tests.conftest import connect_to

# The shape of any Salesforce session id: the org id, "!", then the opaque part.
TOKEN_SHAPE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")


class Sink:
    """Every piece of text a user or a file could ever see during the walk."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.tokens: set[str] = set()

    def add(self, where: str, obj: Any) -> None:
        if isinstance(obj, BaseException):
            self.texts.append((where, "".join(traceback.format_exception(obj)) + repr(obj)))
        elif isinstance(obj, str):
            self.texts.append((where, obj))
        else:
            self.texts.append((where, repr(obj) + "\n" + str(obj)))
            html = getattr(obj, "_repr_html_", None)
            if callable(html):
                self.texts.append((where + " (html)", str(html())))

    def expect_error(self, where: str, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # the walk records whatever the user would see
            self.add(where, exc)
        else:
            raise AssertionError(f"{where}: expected an error")

    def note_token(self, conn: sfnotebook.Connection) -> None:
        self.tokens.add(conn.token.access_token.reveal())


@pytest.fixture
def debug_logs() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = Keep(level=logging.DEBUG)
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(old)


def test_no_secret_or_token_anywhere(
    demo_org: Any,
    tmp_path: Path,
    debug_logs: list[logging.LogRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = demo_org.consumer_secret
    sink = Sink()

    # connect, and the objects an analyst pokes at
    org = connect_to(demo_org)
    sink.note_token(org)
    for obj in (org, org.settings, org.token, org.sf, org.session):
        sink.add("connect", obj)

    # each error case of the foundation's table
    good = {
        "domain": demo_org.domain,
        "consumer_key": demo_org.consumer_key,
        "consumer_secret": secret,
        "ca_bundle": demo_org.ca_bundle,
        "env_file": False,
        "set_default": False,
    }
    bad_cases = {
        "wrong secret": {**good, "consumer_secret": secret[::-1]},
        "unknown key": {**good, "consumer_key": "3MVG9unknown"},
        "no run as": {
            **good,
            "consumer_key": demo_org.apps["no_run_as"][0],
            "consumer_secret": demo_org.apps["no_run_as"][1],
        },
        "flow disabled": {
            **good,
            "consumer_key": demo_org.apps["flow_disabled"][0],
            "consumer_secret": demo_org.apps["flow_disabled"][1],
        },
        "login host": {**good, "domain": demo_org.login_domain},
        "no CA": {**good, "ca_bundle": None},
        "http": {**good, "domain": "http://acme.my.salesforce.com"},
        "missing domain": {**good, "domain": ""},
    }
    for name, kwargs in bad_cases.items():
        sink.expect_error(name, lambda kwargs=kwargs: sfnotebook.connect(**kwargs))
    secrets = [secret] + [s for _, s in demo_org.apps.values()]

    # the verbs, with a session expiry in the middle so a second token is in play
    df = org.query("SELECT Id, Name, Account.Name FROM Contact LIMIT 50", progress=False)
    sink.add("query", df)
    demo_org.expire_sessions()
    result = org.report("Pipeline by Stage", progress=False)
    sink.note_token(org)
    sink.add("report", result)
    sink.add(
        "extract", org.extract("SELECT Id, Name FROM Account", max_records=2000, progress=False)
    )
    sink.expect_error("bad soql", lambda: org.query("SELECT Nope FROM Account", progress=False))
    sink.expect_error("request error", lambda: org.request("GET", "sobjects/Nope__c/describe"))

    # the login panel: fill, connect, then read every widget's state
    pytest.importorskip("ipywidgets")
    from sfnotebook.notebook.widgets import LoginPanel

    panel = LoginPanel(env_file=False, environ={}, connect_options={"backoff": 0.01})
    panel.domain.value = demo_org.domain
    panel.consumer_key.value = demo_org.consumer_key
    panel.consumer_secret.value = secret
    panel.ca_bundle.value = demo_org.ca_bundle
    panel.connect_button.click()
    assert panel.connection is not None, panel.status.value
    sink.note_token(panel.connection)
    sink.add("panel", panel)
    for widget in _walk(panel):
        sink.add(
            f"widget state {type(widget).__name__}", json.dumps(widget.get_state(), default=str)
        )
    panel.consumer_secret.value = secret[::-1]
    panel.connect_button.click()  # a wrong secret shows its error in the status area
    for widget in _walk(panel):
        sink.add(
            f"widget state after error {type(widget).__name__}",
            json.dumps(widget.get_state(), default=str),
        )

    # the magics, through a real IPython shell
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "sfnotebook")
    connection_module.set_default(org)
    try:
        with capture_output() as cap:
            ok = shell.run_cell("%%soql out\nSELECT Id, Name FROM Account LIMIT 3")
            failed = shell.run_cell("%%soql\nSELECT Nope FROM Account")
        assert ok.success and not failed.success
        sink.add("magics", cap.stdout + cap.stderr + "".join(str(o.data) for o in cap.outputs))
    finally:
        connection_module.set_default(None)

    # a cassette recorded through the project's filters
    monkeypatch.setattr(vcr_setup, "RECORDING", True)
    monkeypatch.setattr(vcr_setup, "CASSETTES", tmp_path / "cassettes")
    with vcr_setup.recorder("walk").use_cassette("walk.yaml"):
        recorded = connect_to(demo_org)
        recorded.query("SELECT Id FROM Account LIMIT 5", progress=False)
        sink.note_token(recorded)
    for path in (tmp_path / "cassettes").rglob("*.yaml"):
        sink.add(f"cassette {path.name}", path.read_text())

    # a notebook executed for real
    pytest.importorskip("nbclient")
    import nbformat

    from tools.run_demo import execute_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sfnotebook\norg = sfnotebook.connect()\norg"),
        nbformat.v4.new_code_cell(
            "org.query('SELECT Id, Name FROM Account LIMIT 3', progress=False)"
        ),
        nbformat.v4.new_code_cell("org.token, org.settings"),
    ]
    source = tmp_path / "walk.ipynb"
    nbformat.write(nb, source)
    demo_org.write_env(tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    executed = execute_notebook(source, cwd=tmp_path, env=env, timeout=120)
    sink.add("notebook", json.dumps(executed))

    # every log record, at DEBUG, from every logger
    # vcrpy (a test tool, never loaded by sfnotebook) logs whole requests at DEBUG while it
    # records; what it writes to disk is checked above as cassette files.
    for record in debug_logs:
        if not record.name.startswith("vcr"):
            sink.add(f"log {record.name}", record.getMessage())

    assert len(sink.tokens) >= 3
    leaks = []
    for where, text in sink.texts:
        for secret_value in secrets:
            if secret_value in text:
                leaks.append(f"{where}: consumer secret")
        for token in sink.tokens:
            if token in text:
                leaks.append(f"{where}: access token")
        if TOKEN_SHAPE.search(text):
            leaks.append(f"{where}: something shaped like a session id")
    assert leaks == []
    assert len(sink.texts) > 40  # the walk really covered the paths


def _walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_the_check_can_fail(demo_org: Any) -> None:
    """The token-shape pattern recognises a real token from the demo org."""
    conn = connect_to(demo_org)
    assert TOKEN_SHAPE.search(conn.token.access_token.reveal())
    assert isinstance(errors.SfNotebookError("x"), Exception)
