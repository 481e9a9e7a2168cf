"""The login panel driven from Python: prefill, connect, errors, disconnect, and no secrets in state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ipywidgets = pytest.importorskip("ipywidgets")

import sfnotebook  # noqa: E402
from sfnotebook import connection as connection_module  # noqa: E402
from sfnotebook.notebook.widgets import LoginPanel, login_panel  # noqa: E402


def all_widgets(root: Any) -> Iterator[Any]:
    """The panel and every widget below it (boxes' children, recursively)."""
    yield root
    for child in getattr(root, "children", ()):
        yield from all_widgets(child)


def saved_state(panel: LoginPanel) -> str:
    """What a notebook would save for the panel: every widget's state, as JSON text."""
    return json.dumps([w.get_state() for w in all_widgets(panel)], default=str)


@pytest.fixture(autouse=True)
def _no_default_connection() -> Iterator[None]:
    connection_module.set_default(None)
    yield
    connection_module.set_default(None)


@pytest.fixture
def env_file(tmp_path: Path, demo_org: Any) -> Path:
    path = tmp_path / ".env"
    demo_org.write_env(path)
    return path


def fill(panel: LoginPanel, demo: Any, *, secret: str | None = None) -> None:
    panel.domain.value = demo.domain
    panel.consumer_key.value = demo.consumer_key
    panel.consumer_secret.value = demo.consumer_secret if secret is None else secret
    panel.ca_bundle.value = demo.ca_bundle


def test_prefills_from_env_file_but_never_the_secret(env_file: Path, demo_org: Any) -> None:
    panel = LoginPanel(env_file=env_file, environ={})
    assert panel.domain.value == demo_org.domain
    assert panel.consumer_key.value == demo_org.consumer_key
    assert panel.ca_bundle.value == demo_org.ca_bundle
    assert panel.ca_bundle.layout.display != "none"
    assert panel.consumer_secret.value == ""
    assert "loaded from .env" in panel.secret_note.value
    assert demo_org.consumer_secret not in saved_state(panel)


def test_incomplete_env_file_prefills_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("SF_DOMAIN=acme.my.salesforce.com\n")
    panel = LoginPanel(env_file=path, environ={})
    assert panel.domain.value == "acme.my.salesforce.com"
    assert panel.consumer_key.value == ""
    assert panel.secret_note.value == ""
    assert panel.ca_bundle.layout.display == "none"  # hidden unless SF_CA_BUNDLE is set
    assert "Not connected" in panel.status.value


def test_environment_wins_over_env_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("SF_DOMAIN=file.my.salesforce.com\nSF_CONSUMER_SECRET=s3cr3t-from-file\n")
    panel = LoginPanel(env_file=path, environ={"SF_DOMAIN": "env.my.salesforce.com"})
    assert panel.domain.value == "env.my.salesforce.com"
    assert "loaded from .env" in panel.secret_note.value
    assert "s3cr3t-from-file" not in saved_state(panel)


def test_connect_with_typed_secret(demo_org: Any) -> None:
    seen: list[Any] = []
    panel = login_panel(env_file=False, on_connect=seen.append, backoff=0.01)
    fill(panel, demo_org)
    # Typed, the secret leaves the widget at once: not even the pre-connect state holds it.
    assert panel.consumer_secret.value == ""
    assert demo_org.consumer_secret not in saved_state(panel)
    assert "received" in panel.secret_note.value
    panel.connect_button.click()

    conn = panel.connection
    assert conn is not None, panel.status.value
    assert seen == [conn]
    assert sfnotebook.get_default() is conn
    status = panel.status.value
    assert "Connected" in status
    assert conn.username in status
    assert conn.org_id in status
    assert conn.instance_url in status
    assert f"v{conn.api_version}" in status
    used, limit = conn.api_usage
    assert f"{used:,} of {limit:,} requests" in status
    assert not panel.disconnect_button.disabled
    # The secret and the token are nowhere in what the notebook would save.
    assert panel.consumer_secret.value == ""
    state = saved_state(panel)
    assert demo_org.consumer_secret not in state
    assert conn.token.access_token.reveal() not in state
    conn.close(revoke=False)


def test_connect_with_secret_from_env_file(env_file: Path, demo_org: Any) -> None:
    panel = LoginPanel(env_file=env_file, environ={})
    panel.connect_button.click()
    assert panel.connection is not None, panel.status.value
    assert panel.connection.username in panel.status.value
    state = saved_state(panel)
    assert demo_org.consumer_secret not in state
    assert panel.connection.token.access_token.reveal() not in state
    panel.disconnect_button.click()


def test_wrong_secret_shows_the_message_without_traceback(demo_org: Any) -> None:
    panel = LoginPanel(env_file=False, environ={})
    wrong = "wrong-" + demo_org.consumer_secret[::-1]
    fill(panel, demo_org, secret=wrong)
    panel.connect_button.click()
    assert panel.connection is None
    status = panel.status.value
    assert "invalid_client" in status
    assert "SF_CONSUMER_SECRET" in status
    assert "Traceback" not in status
    assert wrong not in saved_state(panel)
    assert not panel.connect_button.disabled
    with pytest.raises(sfnotebook.SfNotebookError):
        sfnotebook.get_default()


def test_missing_setting_names_the_variable(demo_org: Any) -> None:
    panel = LoginPanel(env_file=False, environ={})
    panel.domain.value = demo_org.domain
    panel.connect_button.click()
    assert panel.connection is None
    assert "SF_CONSUMER_KEY" in panel.status.value


def test_disconnect_revokes_the_token(demo_org: Any) -> None:
    panel = LoginPanel(env_file=False, environ={})
    fill(panel, demo_org)
    panel.connect_button.click()
    conn = panel.connection
    assert conn is not None
    token = conn.token.access_token.reveal()
    limits = f"{conn.instance_url}{conn.base_path}/limits"

    def call() -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.get(
            limits, headers=headers, verify=demo_org.ca_bundle, timeout=10
        ).status_code

    assert call() == 200
    panel.disconnect_button.click()
    assert call() == 401
    assert panel.connection is None
    assert "Disconnected" in panel.status.value
    assert panel.disconnect_button.disabled
    with pytest.raises(sfnotebook.SfNotebookError):
        sfnotebook.get_default()


def test_a_received_secret_is_named_in_the_field(demo_org: Any) -> None:
    panel = LoginPanel(env_file=False, environ={})
    assert panel.consumer_secret.placeholder == "paste the consumer secret"
    fill(panel, demo_org)
    # The field is empty (the secret left the widget) but does not look as if it were lost.
    assert panel.consumer_secret.value == ""
    assert "received" in panel.consumer_secret.placeholder
    assert demo_org.consumer_secret not in saved_state(panel)
    panel.disconnect()  # a real Disconnect forgets the secret, and the field says so
    assert panel.consumer_secret.placeholder == "paste the consumer secret"


def test_placeholders_fit_the_field(env_file: Path) -> None:
    # 34em field less a 9.5em label: about 30 characters of JupyterLab's UI font fit.
    for environ, where in (({}, ".env"), ({"SF_CONSUMER_SECRET": "x"}, "environment")):
        panel = LoginPanel(env_file=env_file, environ=environ)
        assert where in panel.consumer_secret.placeholder
        assert len(panel.consumer_secret.placeholder) <= 40


def test_a_saved_notebook_shows_a_stand_in(demo_org: Any) -> None:
    panel = LoginPanel(env_file=False, environ={})
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Salesforce login panel" in bundle["text/html"]
    assert "run this cell" in bundle["text/html"]
    fill(panel, demo_org)
    panel.connect_button.click()
    conn = panel.connection
    assert conn is not None
    standin = panel._repr_mimebundle_()["text/html"]
    assert conn.username in standin
    assert conn.token.access_token.reveal() not in standin
    assert demo_org.consumer_secret not in standin
    panel.disconnect()


def test_a_new_panel_names_the_connection_the_kernel_has(demo_org: Any) -> None:
    conn = sfnotebook.connect(
        domain=demo_org.domain,
        consumer_key=demo_org.consumer_key,
        consumer_secret=demo_org.consumer_secret,
        ca_bundle=demo_org.ca_bundle,
        env_file=False,
        backoff=0.01,
    )
    try:
        panel = LoginPanel(env_file=False, environ={})
        assert "Not connected from this panel" in panel.status.value
        assert conn.username in panel.status.value
    finally:
        conn.close(revoke=False)


def test_a_profile_panel_prefills_and_connects_with_the_profile(
    tmp_path: Path, demo_org: Any
) -> None:
    """login_panel(profile="uat"): fields from SF_UAT_*, Connect uses connect(profile="uat")."""
    path = tmp_path / ".env"
    path.write_text(
        "SF_DOMAIN=prod.my.salesforce.com\n"
        + "".join(f"SF_UAT_{k.removeprefix('SF_')}={v}\n" for k, v in demo_org.env().items())
    )
    panel = login_panel(env_file=path, profile="UAT", backoff=0.01)
    assert panel.domain.value == demo_org.domain
    assert panel.consumer_key.value == demo_org.consumer_key
    assert panel.consumer_secret.value == ""
    assert demo_org.consumer_secret not in saved_state(panel)
    panel.connect_button.click()
    conn = panel.connection
    assert conn is not None, panel.status.value
    try:
        assert conn.name == "uat"
        assert sfnotebook.get_default() is conn
        assert "uat, the default connection" in panel.status.value
    finally:
        panel.disconnect()
