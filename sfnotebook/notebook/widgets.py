"""The login panel: an ipywidgets form that calls :func:`sfnotebook.connect` and nothing lower.

The panel never holds the consumer secret or the token in a widget: widget state is saved
into the notebook file and shared with it. A secret found in the environment or ``.env`` stays
there (the password field is left empty and a note says where it came from). A typed secret
reaches the kernel when the field loses focus or Enter is pressed (``continuous_update`` off,
so not keystroke by keystroke); the panel moves it at once into a private attribute and empties
the field, so the widget state never keeps it; the field's placeholder then says a secret was
received, so the empty field does not look as if it had been lost.

A saved notebook keeps the panel's output but not, by default, its widget state, so where the
live panel was, a reader of the file (GitHub, nbviewer, ``nbconvert``, VS Code) sees the
output's ``text/html`` stand-in instead: what the panel is and how to bring it back. JupyterLab
itself always prefers the widget view and shows "Error displaying widget: model not found" for
a model that is gone (jupyterlab-manager's ``WidgetRenderer.renderModel``); only its "Save
Widget State Automatically" setting avoids that, and the stand-in names it.
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from sfnotebook import _default_connection
from sfnotebook import connection as _connection
from sfnotebook._secret import Secret
from sfnotebook.display import connection_html, error_html, progress_html
from sfnotebook.errors import SfNotebookError
from sfnotebook.settings import env_names, find_env_file, read_env_file

__all__ = ["LoginPanel", "login_panel"]

ConnectCallback = Callable[[Any], None]

_LABEL_WIDTH = "9.5em"
_FIELD_LAYOUT = {"width": "34em"}


def _prefill(
    *,
    env_file: str | os.PathLike[str] | bool | None,
    environ: Mapping[str, str],
    profile: str | None = None,
) -> tuple[dict[str, str], dict[str, str], Path | None]:
    """What the environment and ``.env`` hold, and where each value came from.

    Same order as :func:`sfnotebook.settings.load_settings` (environment before ``.env``),
    but never fails: an incomplete ``.env`` just leaves fields empty.
    """
    path: Path | None = None
    try:
        if env_file is None or env_file is True:
            path = find_env_file()
        elif env_file is not False:
            path = Path(env_file) if Path(env_file).is_file() else None
        from_file = read_env_file(path) if path else {}
    except (SfNotebookError, OSError, ValueError):  # connect() reports it when it is pressed
        from_file, path = {}, None
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    # A profile's fields come from its SF_<PROFILE>_* variables (sfnotebook._profiles).
    for name, env_name in env_names(profile).items():
        # The secret's value is not kept (only where it comes from): connect() reads it again.
        if (environ.get(env_name) or "").strip():
            values[name], sources[name] = environ[env_name].strip(), "environment"
        elif from_file.get(env_name):
            values[name], sources[name] = from_file[env_name], ".env"
        if name == "consumer_secret":
            values.pop(name, None)
    return values, sources, path


class LoginPanel(w.VBox):  # type: ignore[misc]
    """A login form for the client credentials flow.

    Fields: My Domain, Consumer Key, Consumer Secret (a password field), and the CA bundle
    (shown only when ``SF_CA_BUNDLE`` is set). Connect calls :func:`sfnotebook.connect`; on
    success the connection is :attr:`connection`, the callbacks registered with
    :meth:`on_connect` run, and it becomes the default connection that ``%%soql`` and
    ``sfnotebook.query`` use. Disconnect revokes the token.

    Parameters
    ----------
    env_file
        ``None`` searches for ``.env`` upward from the working directory (as ``connect()``
        does), a path reads that file, ``False`` reads none.
    environ
        The environment to prefill from (default ``os.environ``).
    connect_options
        Extra keyword arguments for :func:`sfnotebook.connect` (``retries``, ``api_version``).
    profile
        Log in to a profile's org: the fields are prefilled from ``SF_<PROFILE>_*`` and
        Connect calls ``connect(profile=...)`` (``docs/profiles.md``).

    Examples
    --------
    >>> import sfnotebook
    >>> panel = sfnotebook.login_panel()      # doctest: +SKIP
    >>> panel                                 # doctest: +SKIP
    >>> org = panel.connection                # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        env_file: str | os.PathLike[str] | bool | None = None,
        environ: Mapping[str, str] | None = None,
        connect_options: Mapping[str, Any] | None = None,
        profile: str | None = None,
    ) -> None:
        from sfnotebook._profiles import check_profile

        self._profile = check_profile(profile) if profile is not None else None
        self._environ = os.environ if environ is None else environ
        self._env_option = env_file
        self._connect_options = dict(connect_options or {})
        self._callbacks: list[ConnectCallback] = []
        self._connection: Any = None
        values, sources, path = _prefill(
            env_file=env_file, environ=self._environ, profile=self._profile
        )
        self._origins = sources
        self._env_path = path

        style = {"description_width": _LABEL_WIDTH}
        self.domain = w.Text(
            value=values.get("domain", ""),
            description="My Domain",
            placeholder="acme.my.salesforce.com",
            style=style,
            layout=_FIELD_LAYOUT,
        )
        self.consumer_key = w.Text(
            value=values.get("consumer_key", ""),
            description="Consumer Key",
            style=style,
            layout=_FIELD_LAYOUT,
        )
        self._typed_secret: Secret | None = None
        self.consumer_secret = w.Password(
            value="",
            description="Consumer Secret",
            placeholder=self._secret_placeholder(),
            continuous_update=False,
            style=style,
            layout=_FIELD_LAYOUT,
        )
        self.consumer_secret.observe(self._take_secret, names="value")
        self.secret_note = w.HTML(value=self._secret_note())
        has_ca = "ca_bundle" in values
        self.ca_bundle = w.Text(
            value=values.get("ca_bundle", ""),
            description="CA bundle",
            style=style,
            layout={**_FIELD_LAYOUT, "display": "" if has_ca else "none"},
        )
        self.connect_button = w.Button(
            description="Connect", button_style="primary", icon="plug", tooltip="Log in"
        )
        self.disconnect_button = w.Button(
            description="Disconnect", icon="sign-out", disabled=True, tooltip="Revoke the token"
        )
        self.status = w.HTML(value=self._idle_status())
        self.connect_button.on_click(lambda _button: self.connect())
        self.disconnect_button.on_click(lambda _button: self.disconnect())
        super().__init__(
            children=[
                w.HTML("<b>Salesforce login</b> (OAuth 2.0 client credentials)"),
                self.domain,
                self.consumer_key,
                self.consumer_secret,
                self.secret_note,
                self.ca_bundle,
                w.HBox([self.connect_button, self.disconnect_button]),
                self.status,
            ]
        )
        self.add_class("sfnotebook-login")
        # Stable hooks for styling and for the browser test.
        for widget, name in (
            (self.domain, "domain"),
            (self.consumer_key, "consumer-key"),
            (self.consumer_secret, "consumer-secret"),
            (self.ca_bundle, "ca-bundle"),
            (self.connect_button, "connect"),
            (self.disconnect_button, "disconnect"),
            (self.status, "status"),
        ):
            widget.add_class(f"sfnotebook-{name}")

    # -- public -------------------------------------------------------------------------------
    @property
    def connection(self) -> Any:
        """The :class:`sfnotebook.Connection` once connected, else ``None``."""
        return self._connection

    def on_connect(self, callback: ConnectCallback) -> LoginPanel:
        """Call ``callback(connection)`` after every successful connect (now, if connected)."""
        self._callbacks.append(callback)
        if self._connection is not None:
            callback(self._connection)
        return self

    def connect(self) -> Any:
        """Log in with the field values (what Connect does); returns the connection or ``None``.

        A typed secret (kept since it was typed, never in a widget) wins over the environment
        and ``.env``; without one, :func:`sfnotebook.connect` reads those.
        """
        typed_secret = self._typed_secret
        if self._connection is not None:
            self._close(revoke=True, quiet=True)
        host = self.domain.value.strip() or "(no domain)"
        self.status.value = progress_html(f"Connecting to {host} ...")
        self.connect_button.disabled = True
        try:
            conn = _connection.connect(
                domain=self.domain.value.strip() or None,
                consumer_key=self.consumer_key.value.strip() or None,
                consumer_secret=typed_secret,
                ca_bundle=self.ca_bundle.value.strip() or None,
                env_file=self._env_file_for_connect(),
                profile=self._profile or "default",
                set_default=True,
                **self._connect_options,
            )
        except SfNotebookError as exc:
            self.status.value = error_html(str(exc))
            self.connect_button.disabled = False
            return None
        except Exception as exc:
            # Not an sfnotebook error: show what it is, never a traceback in the panel.
            self.status.value = error_html(f"{exc.__class__.__name__}: {exc}", title="Error")
            self.connect_button.disabled = False
            return None
        self._connection = conn
        if conn.api_usage is None:
            # The login calls carry no Sforce-Limit-Info header; one /limits call brings it.
            # If it fails, usage just stays "not reported yet": the connection itself is fine.
            with contextlib.suppress(SfNotebookError):
                conn.limits()
        self.status.value = (
            '<div style="color:#1a7f37;font-weight:600">&#10004; Connected</div>'
            + connection_html(conn)
        )
        self.disconnect_button.disabled = False
        self.connect_button.disabled = False
        self.connect_button.description = "Reconnect"
        for callback in list(self._callbacks):
            callback(conn)
        return conn

    def disconnect(self) -> None:
        """Revoke the token, forget the connection and reset the panel (what Disconnect does)."""
        self._close(revoke=True, quiet=False)

    # -- internals ----------------------------------------------------------------------------
    def _take_secret(self, change: Mapping[str, Any]) -> None:
        """Move a typed secret out of the widget (whose state is saved with the notebook)."""
        if not change["new"]:
            return
        self._typed_secret = Secret(str(change["new"]))
        self.consumer_secret.value = ""
        self.consumer_secret.placeholder = _RECEIVED
        self.secret_note.value = (
            '<span style="color:#555">Consumer Secret received; it is kept out of the widget '
            "and never saved in the notebook.</span>"
        )

    def _close(self, *, revoke: bool, quiet: bool) -> None:
        conn, self._connection = self._connection, None
        if not quiet:  # a real Disconnect forgets the typed secret too
            self._typed_secret = None
            self.secret_note.value = self._secret_note()
            self.consumer_secret.placeholder = self._secret_placeholder()
        self.disconnect_button.disabled = True
        self.connect_button.description = "Connect"
        if conn is None:
            return
        message = self._idle_status("Disconnected: the session was revoked.")
        try:
            conn.close(revoke=revoke)
        except SfNotebookError as exc:
            # The token is forgotten locally either way; say that Salesforce may still hold it.
            conn.close(revoke=False)
            message = error_html(str(exc), title="Disconnected, but revoking failed")
        if not quiet:
            self.status.value = message

    def _env_file_for_connect(self) -> str | os.PathLike[str] | bool | None:
        if self._env_option is None or self._env_option is True:
            return self._env_path if self._env_path else None
        return self._env_option

    def _secret_placeholder(self) -> str:
        # Short enough for the field's width (34em less the 9.5em label) in JupyterLab's font.
        if self._origins.get("consumer_secret") == ".env":
            return "from .env; type to override"
        if self._origins.get("consumer_secret") == "environment":
            return "from the environment; type to override"
        return "paste the consumer secret"

    def _secret_note(self) -> str:
        if self._origins.get("consumer_secret") == ".env":
            where = f" ({self._env_path})" if self._env_path else ""
            return f'<span style="color:#555">Consumer Secret loaded from .env{_esc(where)}</span>'
        if self._origins.get("consumer_secret") == "environment":
            return (
                '<span style="color:#555">Consumer Secret loaded from the environment '
                f"({env_names(self._profile)['consumer_secret']})</span>"
            )
        return ""

    def _idle_status(self, text: str | None = None) -> str:
        if text is None:
            text = "Not connected."
            default = _default_connection._default
            if default is not None and not getattr(default, "closed", True):
                # The kernel is connected already (connect() in an earlier cell): say so, rather
                # than "Not connected." under that connection's card.
                text = (
                    f"Not connected from this panel. {default.username or 'An org'} is "
                    "connected already, and %%soql and sfnotebook.query use it."
                )
        return f'<div style="color:#555">{_esc(text)}</div>'

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, plus a static stand-in for readers of the saved notebook."""
        data: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/html"] = _standin_html(self._connection)
        return data

    def __repr__(self) -> str:
        state = "connected" if self._connection is not None else "not connected"
        return f"<sfnotebook.LoginPanel {state}>"


_RECEIVED = "secret received (not stored here); type to replace"


def _esc(text: str) -> str:
    return html.escape(text)


def _standin_html(conn: Any) -> str:
    """What a saved notebook shows where the panel was, once its widget state is gone."""
    state = "not connected when this output was made"
    if conn is not None:
        state = f"connected as {_esc(str(conn.username or 'unknown'))} when this output was made"
    return (
        '<div class="sfnotebook-login-standin" style="border:1px solid #ccc;padding:6px 10px;'
        'color:#555;max-width:40em"><b>Salesforce login panel</b> (' + state + "). "
        "The panel is a live widget: run this cell to show it again. To keep widgets in a "
        "saved notebook, turn on JupyterLab's Settings &gt; Save Widget State Automatically "
        "(no secret is ever kept in the panel's state).</div>"
    )


def login_panel(
    *,
    env_file: str | os.PathLike[str] | bool | None = None,
    on_connect: ConnectCallback | None = None,
    profile: str | None = None,
    **connect_options: Any,
) -> LoginPanel:
    """Make the login panel; display it as a cell's last expression.

    Parameters
    ----------
    env_file
        Where to prefill from: ``None`` searches for ``.env`` upward from the working
        directory, a path reads that file, ``False`` reads none.
    on_connect
        Called with the connection after each successful connect.
    profile
        Log in to that profile's org (fields from ``SF_<PROFILE>_*``; ``docs/profiles.md``).
    **connect_options
        Passed on to :func:`sfnotebook.connect` (``api_version``, ``retries`` ...).

    Examples
    --------
    >>> import sfnotebook
    >>> panel = sfnotebook.login_panel(on_connect=lambda org: print(org))  # doctest: +SKIP
    >>> panel                                                             # doctest: +SKIP
    """
    panel = LoginPanel(env_file=env_file, connect_options=connect_options, profile=profile)
    if on_connect is not None:
        panel.on_connect(on_connect)
    return panel
