"""Several orgs side by side (issue 14, item 8): named profiles and an explicit default.

Two demo orgs stand for production (the plain ``SF_*`` variables) and a sandbox (the profile
``uat``: ``SF_UAT_*``). The first connection of a session becomes the default; a second
``connect()`` never takes its place silently; ``sfnotebook.use`` switches, with a notice;
``%%soql -c uat`` runs one cell on the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook
from sfnotebook import _default_connection as defaults
from sfnotebook import connection as connection_module
from sfnotebook import errors


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=300, seed=7) as demo:
        yield demo


@pytest.fixture
def two_orgs(
    demo_org: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[tuple[Any, Any]]:
    """Production in SF_*, the sandbox in SF_UAT_*; no default connection, none open."""
    monkeypatch.chdir(tmp_path)  # no .env found
    for name, value in demo_org.env().items():
        monkeypatch.setenv(name, value)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name.replace("SF_", "SF_UAT_", 1), value)
    connection_module.set_default(None)
    defaults._open.clear()
    yield demo_org, sandbox
    for conn in list(defaults._open.values()):
        conn.close(revoke=False)
    connection_module.set_default(None)


def _host(demo: Any) -> str:
    return str(demo.domain).removeprefix("https://")


def test_a_profile_connects_to_its_own_org(two_orgs: tuple[Any, Any]) -> None:
    prod_demo, uat_demo = two_orgs
    prod = sfnotebook.connect(backoff=0.01)
    uat = sfnotebook.connect(profile="uat", backoff=0.01)
    assert (prod.name, uat.name) == ("default", "uat")
    assert _host(prod_demo) in prod.instance_url
    assert _host(uat_demo) in uat.instance_url
    assert prod.instance_url != uat.instance_url
    count = "SELECT COUNT() FROM Opportunity"
    assert uat.query(count, progress=False) != prod.query(count, progress=False)
    assert connection_module.open_connection("uat") is uat
    assert connection_module.open_connection("UAT") is uat


def test_the_first_connection_stays_the_default(
    two_orgs: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    prod = sfnotebook.connect(backoff=0.01)
    assert sfnotebook.get_default() is prod
    assert capsys.readouterr().out == ""  # the first one: nothing to say
    uat = sfnotebook.connect(profile="uat", backoff=0.01)
    assert sfnotebook.get_default() is prod  # not silently replaced ...
    note = capsys.readouterr().out
    assert "default connection stays 'default'" in note  # ... and said so
    assert "sfnotebook.use(org)" in note and "%%soql -c uat" in note

    assert sfnotebook.use(uat) is uat
    assert sfnotebook.get_default() is uat
    note = capsys.readouterr().out
    assert "default connection is now 'uat'" in note and "; it was 'default'" in note
    assert sfnotebook.use("default") is prod  # by name: the open connection of that profile
    assert "now 'default'" in capsys.readouterr().out

    quiet = sfnotebook.connect(profile="uat", set_default=False, backoff=0.01)
    assert sfnotebook.get_default() is prod and capsys.readouterr().out == ""
    loud = sfnotebook.connect(profile="uat", set_default=True, backoff=0.01)
    assert sfnotebook.get_default() is loud is not quiet
    assert "now 'uat'" in capsys.readouterr().out


def test_after_the_default_is_closed_the_next_connect_is_the_default(
    two_orgs: tuple[Any, Any],
) -> None:
    prod = sfnotebook.connect(backoff=0.01)
    prod.close()
    uat = sfnotebook.connect(profile="uat", backoff=0.01)
    assert sfnotebook.get_default() is uat


def test_sf_profile_chooses_the_profile(
    two_orgs: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, uat_demo = two_orgs
    monkeypatch.setenv("SF_PROFILE", "uat")
    org = sfnotebook.connect(backoff=0.01)
    assert org.name == "uat" and _host(uat_demo) in org.instance_url


def test_a_closed_connection_says_so_and_sends_nothing(two_orgs: tuple[Any, Any]) -> None:
    org = sfnotebook.connect(backoff=0.01)
    org.close()
    sent = org.stats["requests"]
    with pytest.raises(errors.ConnectionClosedError, match="was closed; connect\\(\\) again"):
        org.query("SELECT Id FROM Account LIMIT 1", progress=False)
    with pytest.raises(errors.ConnectionClosedError):
        org.limits()
    assert org.stats["requests"] == sent
    with pytest.raises(errors.ConnectionClosedError):
        sfnotebook.use(org)


def test_soql_magic_runs_on_a_profile(
    two_orgs: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    try:
        shell.run_line_magic("load_ext", "sfnotebook")
        prod = sfnotebook.connect(backoff=0.01)
        count = "SELECT COUNT() FROM Opportunity"
        # No uat connection is open: -c uat connects with SF_UAT_* and keeps it open ...
        on_uat = shell.run_cell_magic("soql", "-c uat", count)
        uat = connection_module.open_connection("uat")
        assert uat is not None and uat is not prod
        assert on_uat == uat.query(count, progress=False) != prod.query(count, progress=False)
        # ... without making it the default
        assert sfnotebook.get_default() is prod
        assert shell.run_cell_magic("soql", "", count) == prod.query(count, progress=False)
        sent = uat.stats["requests"]
        shell.run_cell_magic("soql", "-c uat", count)  # the same connection again
        assert uat.stats["requests"] == sent + 1
        assert connection_module.open_connection("uat") is uat
    finally:
        InteractiveShell.clear_instance()


def test_soql_magic_with_an_unknown_profile_says_what_is_missing(
    two_orgs: tuple[Any, Any],
) -> None:
    pytest.importorskip("IPython")
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    try:
        shell.run_line_magic("load_ext", "sfnotebook")
        with pytest.raises(UsageError, match="SF_STAGING_DOMAIN is not set"):
            shell.run_cell_magic("soql", "-c staging", "SELECT Id FROM Account")
    finally:
        InteractiveShell.clear_instance()
