"""The magics through a real IPython shell: %%soql, %soql, %sfreport, binding and errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import sfnotebook
from sfnotebook import connection as connection_module
from sfnotebook import errors
from sfnotebook.notebook.magics import bind_soql

INJECTION = "x' OR Name LIKE '%"


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database written by the tests
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "sfnotebook")
    yield ip
    # Later tests must not believe they run inside IPython (progress bars, display hooks).
    InteractiveShell.clear_instance()


@pytest.fixture(scope="module")
def magic_org(demo_org: Any) -> Iterator[sfnotebook.Connection]:
    conn = sfnotebook.connect(
        **demo_org.connect_kwargs(),
        env_file=False,
        backoff=0.01,
        set_default=False,
    )
    yield conn
    conn.close(revoke=False)


@pytest.fixture
def default_org(magic_org: sfnotebook.Connection) -> Iterator[sfnotebook.Connection]:
    connection_module.set_default(magic_org)
    yield magic_org
    connection_module.set_default(None)


# ----------------------------------------------------------------------------- binding (pure)
# The rules are tested in tests/unit/soql/test_bind.py; here: the magic's namespace and errors.


def test_the_magic_binds_with_the_params_rules() -> None:
    ns = {"v": "O'Brien", "d": dt.datetime(2024, 1, 31, 8, 30, tzinfo=dt.timezone.utc)}
    assert bind_soql("WHERE A = :v AND B > {d} AND C = LAST_N_DAYS:30", ns) == (
        "WHERE A = 'O\\'Brien' AND B > 2024-01-31T08:30:00Z AND C = LAST_N_DAYS:30"
    )


def test_unused_notebook_variables_are_fine() -> None:
    assert bind_soql("SELECT Id FROM Account", {"x": 1, "In": []}) == "SELECT Id FROM Account"


def test_injection_stays_one_literal() -> None:
    soql = bind_soql("SELECT Id FROM Account WHERE Name = :name", {"name": INJECTION})
    assert soql == "SELECT Id FROM Account WHERE Name = 'x\\' OR Name LIKE \\'%'"


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("WHERE Name = :missing", "'missing' is not defined in the notebook"),
        ("WHERE Name = {missing}", "'missing' is not defined in the notebook"),
        ("WHERE Name = {v.nope}", "no attribute 'nope'"),
        ("WHERE Name = {v:upper}", "unknown format"),
        ("WHERE Id IN :empty", "empty list"),
        ("WHERE Name = :obj", "has no SOQL literal"),
        ("WHERE D > :naive", "without a time zone"),
        ("WHERE D > :nan", "missing value"),
        ("WHERE D = LAST_N_DAYS:v", "takes a whole number"),
        ("WHERE Name = 'open", "closing quote"),
    ],
)
def test_binding_errors_are_usage_errors(soql: str, message: str) -> None:
    ns = {
        "v": "x",
        "empty": [],
        "obj": object(),
        "naive": dt.datetime(2024, 1, 1),
        "nan": float("nan"),
    }
    with pytest.raises(UsageError, match=message):
        bind_soql(soql, ns)


# ----------------------------------------------------------------------------- through IPython


def test_no_connection_keeps_its_type(shell: InteractiveShell) -> None:
    # Issue 14: magics show the real exception type (shown without a traceback by
    # sfnotebook.notebook._errors), not UsageError.
    connection_module.set_default(None)
    with pytest.raises(errors.SfNotebookError, match="No Salesforce connection yet"):
        shell.run_cell_magic("soql", "", "SELECT Id FROM Account LIMIT 1")


def test_cell_magic_displays_and_stores(shell: InteractiveShell, default_org: Any) -> None:
    shell.user_ns.pop("accounts", None)
    result = shell.run_cell("%%soql accounts\nSELECT Id, Name FROM Account ORDER BY Name LIMIT 5")
    result.raise_error()
    frame = shell.user_ns["accounts"]
    assert list(frame.columns) == ["Id", "Name"]
    assert len(frame) == 5
    assert result.result is frame  # the cell's value: Jupyter displays it

    quiet = shell.run_cell("%%soql -o first -q\nSELECT Id FROM Account ORDER BY Name LIMIT 1")
    quiet.raise_error()
    assert quiet.result is None
    assert shell.user_ns["first"]["Id"].iloc[0] == frame["Id"].iloc[0]


def test_line_magic_returns_the_frame(shell: InteractiveShell, default_org: Any) -> None:
    shell.user_ns["n"] = 3
    result = shell.run_cell("top = %soql SELECT Id, Name FROM Account ORDER BY Name LIMIT :n")
    result.raise_error()
    assert len(shell.user_ns["top"]) == 3


def test_bound_values_select_the_right_rows(shell: InteractiveShell, default_org: Any) -> None:
    names = default_org.query("SELECT Name FROM Account ORDER BY Name LIMIT 2")["Name"].tolist()
    shell.user_ns["names"] = names
    shell.user_ns["one"] = names[0]
    by_list = shell.run_line_magic("soql", "SELECT Id, Name FROM Account WHERE Name IN :names")
    assert set(by_list["Name"]) == set(names)
    # IPython's own {var} expansion is off: {one} is bound by sfnotebook, quoted.
    by_brace = shell.run_line_magic("soql", "SELECT Name FROM Account WHERE Name = {one}")
    assert set(by_brace["Name"]) == {names[0]}


def test_injection_attempt_matches_nothing(shell: InteractiveShell, default_org: Any) -> None:
    shell.user_ns["name"] = INJECTION
    # Pasted in unquoted, the value would match every account:
    unsafe = f"SELECT Id FROM Account WHERE Name = '{INJECTION}' LIMIT 5"  # noqa: S608 - on purpose
    pasted = default_org.query(unsafe)
    assert len(pasted) == 5
    bound = shell.run_cell_magic("soql", "", "SELECT Id FROM Account WHERE Name = :name LIMIT 5")
    assert len(bound) == 0


def test_bad_soql_is_a_short_error_of_its_own_type(
    shell: InteractiveShell, default_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(errors.MalformedQueryError, match="MALFORMED_QUERY"):
        shell.run_cell_magic("soql", "", "SELECT Id FROM Account WHERE")
    with pytest.raises(errors.InvalidFieldError, match="INVALID_FIELD"):
        shell.run_cell_magic("soql", "", "SELECT NoSuchField__c FROM Account")
    # Run as a cell, Jupyter shows the type and the message, not a traceback.
    capsys.readouterr()
    result = shell.run_cell("%%soql\nSELECT Id FROM NoSuchObject__c")
    assert isinstance(result.error_in_exec, errors.InvalidTypeError)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "InvalidTypeError" in text and "Salesforce answered 400 INVALID_TYPE" in text
    assert "UsageError" not in text
    assert "Traceback" not in text


def test_include_deleted_reads_the_recycle_bin(shell: InteractiveShell, default_org: Any) -> None:
    soql = "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true LIMIT 3"
    assert len(shell.run_cell_magic("soql", "", soql)) == 0
    deleted = shell.run_cell_magic("soql", "--include-deleted", soql)
    assert len(deleted) > 0
    assert deleted["IsDeleted"].all()


def test_unknown_variable_in_a_cell(shell: InteractiveShell, default_org: Any) -> None:
    shell.user_ns.pop("nowhere", None)
    with pytest.raises(UsageError, match="'nowhere' is not defined"):
        shell.run_cell_magic("soql", "", "SELECT Id FROM Account WHERE Name = :nowhere")


def test_connection_option(shell: InteractiveShell, magic_org: Any) -> None:
    connection_module.set_default(None)
    shell.user_ns["other"] = magic_org
    frame = shell.run_cell_magic("soql", "--connection other", "SELECT Id FROM Account LIMIT 2")
    assert len(frame) == 2
    shell.user_ns["notconn"] = 5
    with pytest.raises(UsageError, match="not an sfnotebook connection"):
        shell.run_cell_magic("soql", "--connection notconn", "SELECT Id FROM Account")
    with pytest.raises(UsageError, match="no such variable"):
        shell.run_cell_magic("soql", "--connection missing_var", "SELECT Id FROM Account")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-o", "needs a Python variable name"),
        ("-o 1x", "needs a Python variable name"),
        ("--bogus", "Unknown option"),
        ("a b", "Unexpected"),
    ],
)
def test_bad_options(shell: InteractiveShell, default_org: Any, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("soql", line, "SELECT Id FROM Account LIMIT 1")


def test_empty_cell(shell: InteractiveShell, default_org: Any) -> None:
    with pytest.raises(UsageError, match="No SOQL"):
        shell.run_cell_magic("soql", "", "  \n")


def small_report(org: Any, listing: Any) -> tuple[str, str]:
    """A report with a unique name and filters (so few rows: one run) among the listed ones."""
    names = listing["name"].value_counts()
    for report_id, name in zip(listing["id"], listing["name"], strict=True):
        meta = org.describe_report(report_id)["reportMetadata"]
        if names[name] == 1 and meta.get("reportFilters") and meta.get("groupingsDown"):
            return str(report_id), str(name)
    pytest.fail("the demo org has no small grouped report")


def test_sfreport_by_name_and_id(shell: InteractiveShell, default_org: Any) -> None:
    listing = shell.run_line_magic("sfreport", "")
    assert {"id", "name"} <= set(listing.columns)
    report_id, name = small_report(default_org, listing)

    by_id = shell.run_line_magic("sfreport", f"-o rep {report_id}")
    assert shell.user_ns["rep"] is by_id
    assert by_id.name == name
    by_name = shell.run_line_magic("sfreport", f"{name} -o rep2")
    assert shell.user_ns["rep2"] is by_name
    assert by_name.id == by_id.id
    assert len(by_name) == len(by_id) > 0
    html = by_name._repr_html_()
    assert f"Report: {name}".replace("&", "&amp;") in html
    assert "Groupings" in html


def test_sfreport_unknown_report(shell: InteractiveShell, default_org: Any) -> None:
    with pytest.raises(errors.ReportNotFoundError):
        shell.run_line_magic("sfreport", "No Such Report Anywhere 12345")
