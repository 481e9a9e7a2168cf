"""sfnotebook's IPython error display, through a real IPython shell (issue 14, item 6).

An sfnotebook error shows its type, its message and the user's own line, no library frames;
``%xmode Minimal`` shows the message only; ``%xmode Verbose`` shows every frame, secrets masked;
magics show the real type; the echoed SOQL's caret sits under the column Salesforce names.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell

import sfnotebook
from sfnotebook import connection as connection_module
from sfnotebook import errors
from sfnotebook.notebook import _errors
from tests.conftest import connect_to

CLEAR = "clear-secret-value-0123456789"


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "sfnotebook")
    ip.run_cell("import sfnotebook")
    yield ip
    ip.run_line_magic("xmode", "Context")
    InteractiveShell.clear_instance()


@pytest.fixture
def context(shell: InteractiveShell) -> Iterator[InteractiveShell]:
    """The shell in its usual exception mode, with no default connection."""
    shell.run_line_magic("xmode", "Context")
    connection_module.set_default(None)
    yield shell
    shell.run_line_magic("xmode", "Context")
    connection_module.set_default(None)


def shown(shell: InteractiveShell, cell: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What the cell printed (its traceback included), after checking it failed."""
    capsys.readouterr()
    result = shell.run_cell(cell)
    assert result.error_in_exec is not None, "the cell was expected to fail"
    out = capsys.readouterr()
    return re.sub(r"\x1b\[[0-9;]*m", "", out.out + out.err)  # IPython's colours


# ------------------------------------------------------------------------------ installing


def test_load_ext_installs_it_once(shell: InteractiveShell) -> None:
    assert shell.custom_exceptions == (errors.SfNotebookError,)
    assert _errors.install(shell) is True
    assert shell.custom_exceptions == (errors.SfNotebookError,)


def test_someone_elses_handler_is_kept() -> None:
    class Shell:
        custom_exceptions = (KeyError,)

        def set_custom_exc(self, exc_tuple: tuple[type, ...], handler: Any) -> None:
            raise AssertionError("sfnotebook replaced another library's handler")

    assert _errors.install(Shell()) is False


def test_no_ipython_means_no_install_and_no_import(demo_org: Any) -> None:
    """Outside IPython, connect() neither installs anything nor imports IPython."""
    code = (
        "import json, os, sys, sfnotebook\n"
        "kw = json.loads(os.environ['KW'])\n"
        "org = sfnotebook.connect(**kw, env_file=False)\n"
        "print('IPython' in sys.modules)\n"
    )
    import json

    env = {**os.environ, "KW": json.dumps(demo_org.connect_kwargs())}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_first_connect_inside_ipython_installs_it(shell: InteractiveShell, demo_org: Any) -> None:
    _errors.uninstall(shell)
    assert shell.custom_exceptions == ()
    org = connect_to(demo_org)
    try:
        assert shell.custom_exceptions == (errors.SfNotebookError,)
    finally:
        org.close(revoke=False)


# ------------------------------------------------------------------------------ rendering


def test_an_error_shows_type_message_and_the_users_line(
    context: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    text = shown(context, "x = 1\nsfnotebook.get_default()", capsys)
    assert "SfNotebookError: No Salesforce connection yet" in text
    assert "sfnotebook.get_default()" in text  # the user's own line
    assert "connection.py" not in text  # no library frame
    assert "frame inside sfnotebook" in text and "%tb" in text
    assert isinstance(sys.last_value, errors.SfNotebookError)  # %debug and %tb still work


def test_the_chain_is_left_out(
    context: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    # normalize_domain raises InvalidSettingError from urllib's ValueError.
    text = shown(
        context,
        "from sfnotebook.settings import normalize_domain\nnormalize_domain('acme.my.salesforce.com:99999')",
        capsys,
    )
    assert "InvalidSettingError: SF_DOMAIN" in text
    assert "ValueError" not in text and "above exception" not in text
    assert "settings.py" not in text


def test_user_functions_stay_visible(
    context: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    context.run_cell("def helper():\n    return sfnotebook.get_default()\n")
    text = shown(context, "helper()", capsys)
    assert "helper()" in text and "return sfnotebook.get_default()" in text
    assert "connection.py" not in text


def test_minimal_mode_shows_the_message_only(
    context: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    context.run_line_magic("xmode", "Minimal")
    text = shown(context, "sfnotebook.get_default()", capsys)
    assert text.strip().startswith("SfNotebookError: No Salesforce connection yet")
    assert "Cell In" not in text


def test_verbose_shows_every_frame_with_secrets_masked(
    context: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    context.run_line_magic("xmode", "Verbose")
    context.user_ns["clear"] = CLEAR
    cell = (
        "from sfnotebook._secret import Secret\n"
        "from sfnotebook.settings import load_settings\n"
        "s = Secret(clear)\n"
        "load_settings(domain=f'https://bob:{clear}@acme.my.salesforce.com', "
        "consumer_key='k' * 20, consumer_secret=s, env_file=False, environ={}) if clear else None"
    )
    text = shown(context, cell, capsys)
    assert "settings.py" in text  # every frame, the library's too
    assert "InvalidSettingError" in text
    assert CLEAR not in text


def test_mask_secrets_masks_urls_and_session_ids() -> None:
    text = "url='https://bob:pw1@host' token=00D000000000001!AQ0AQHbT.abcdefghijklmnop"
    masked = _errors.mask_secrets(text)
    assert "pw1" not in masked and "abcdefghijklmnop" not in masked
    assert "https://***@host" in masked


# ------------------------------------------------------------------------------ magics


@pytest.fixture
def default_org(demo_org: Any, context: InteractiveShell) -> Iterator[sfnotebook.Connection]:
    org = connect_to(demo_org)
    connection_module.set_default(org)
    yield org
    connection_module.set_default(None)
    org.close(revoke=False)


def test_magic_errors_keep_their_type_and_align_the_caret(
    context: InteractiveShell, default_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = shown(context, "%%soql\nSELECT Id,\n\t\tNmae FROM Account", capsys)
    assert "UsageError" not in text
    assert "InvalidFieldError: Salesforce answered 400 INVALID_FIELD:" in text
    assert "Traceback" not in text and "magics.py" not in text
    lines = text.splitlines()
    echo = lines.index("\t\tNmae FROM Account")
    caret, where = lines[echo + 1], lines[echo + 2]
    assert where.startswith("ERROR at Row:2:Column:3")
    assert caret == "\t\t^"  # under the N, however wide a tab is drawn
    assert "Did you mean Name?" in text
    assert 'org.fields("Account")' in text and "org.sf." not in text


def test_magic_unknown_object_suggests_one(
    context: InteractiveShell, default_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = shown(context, "%%soql\nSELECT Id FROM Acount", capsys)
    assert "InvalidTypeError" in text and "Did you mean Account?" in text
    lines = text.splitlines()
    echo = lines.index("SELECT Id FROM Acount")
    assert lines[echo + 1].index("^") == "SELECT Id FROM Acount".index("Acount")


def test_method_call_in_a_cell_is_concise(
    context: InteractiveShell, default_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    context.user_ns["org"] = default_org
    text = shown(context, "df = org.query('SELECT Id, Nmae FROM Account')", capsys)
    assert "org.query('SELECT Id, Nmae FROM Account')" in text
    assert "InvalidFieldError" in text and "Did you mean Name?" in text
    assert "_pages.py" not in text and "connection.py" not in text
    assert len(text.splitlines()) < 20, text


def test_bulk_group_by_is_refused_in_the_cell(
    context: InteractiveShell, default_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    context.user_ns["org"] = default_org
    before = default_org.stats["requests"]
    text = shown(
        context,
        "org.extract('SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName')",
        capsys,
    )
    assert default_org.stats["requests"] == before  # refused before any round trip
    assert "InvalidArgumentError" in text and "GROUP BY" in text and "org.query" in text
