"""Bad input across the API: each gets a typed error with a useful message, and none of them
corrupts the connection for the next call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sfnotebook
from sfnotebook import errors
from tests.conftest import connect_to

SECRET = "bad-input-secret-0123456789"

# (id, call, expected error class, words the message must contain)
Case = tuple[str, Callable[[Any, Path], Any], type[Exception], str]


def _connect(**overrides: Any) -> Callable[[Any, Path], Any]:
    def call(demo: Any, tmp: Path) -> Any:
        settings: dict[str, Any] = {
            "domain": demo.domain,
            "consumer_key": demo.consumer_key,
            "consumer_secret": demo.consumer_secret,
            "ca_bundle": demo.ca_bundle,
            "env_file": False,
            "set_default": False,
        }
        for key, value in overrides.items():
            settings[key] = value(demo, tmp) if callable(value) else value
        return sfnotebook.connect(**settings)

    return call


def _env_file(text: str) -> Callable[[Any, Path], Any]:
    def write(demo: Any, tmp: Path) -> Path:
        path = tmp / "custom.env"
        path.write_text(
            text.format(domain=demo.domain, key=demo.consumer_key, ca=demo.ca_bundle),
            encoding="utf-8",
        )
        return path

    return write


def _query(soql: str, **options: Any) -> Callable[[Any, Path], Any]:
    return lambda org, tmp: org.query(soql, progress=False, **options)


def _report(name: str, **options: Any) -> Callable[[Any, Path], Any]:
    return lambda org, tmp: org.report(name, progress=False, **options)


def _extract(soql: str, **options: Any) -> Callable[[Any, Path], Any]:
    def call(org: Any, tmp: Path) -> Any:
        resolved = {k: (v(tmp) if callable(v) else v) for k, v in options.items()}
        return org.extract(soql, progress=False, **resolved)

    return call


def _full_folder(tmp: Path) -> Path:
    folder = tmp / "full"
    folder.mkdir(exist_ok=True)
    (folder / "keep.txt").write_text("analyst's file")
    return folder


CONNECT_CASES: list[Case] = [
    ("empty domain", _connect(domain=""), errors.MissingSettingError, "SF_DOMAIN"),
    ("empty key", _connect(consumer_key="  "), errors.MissingSettingError, "SF_CONSUMER_KEY"),
    (
        "generic login host",
        _connect(domain="login.salesforce.com"),
        errors.MyDomainRequiredError,
        "My Domain",
    ),
    (
        "sandbox login host",
        _connect(domain="https://test.salesforce.com"),
        errors.MyDomainRequiredError,
        "My Domain",
    ),
    (
        "non-https domain",
        _connect(domain="http://acme.my.salesforce.com"),
        errors.InsecureDomainError,
        "clear text",
    ),
    (
        "domain with a path",
        _connect(domain="acme.my.salesforce.com/lightning/page/home"),
        errors.InvalidSettingError,
        "path",
    ),
    (
        "domain with spaces",
        _connect(domain="acme .my.salesforce.com"),
        errors.InvalidSettingError,
        "spaces",
    ),
    (
        "unicode domain",
        _connect(domain="acmé.my.salesforce.com"),
        errors.InvalidSettingError,
        "host",
    ),
    (
        "api version words",
        _connect(api_version="latest-please"),
        errors.InvalidSettingError,
        "68.0",
    ),
    (
        "api version retired",
        _connect(api_version="20.0"),
        errors.InvalidSettingError,
        "not offered",
    ),
    ("api version future", _connect(api_version="99.0"), errors.InvalidSettingError, "not offered"),
    (
        "ca bundle missing",
        _connect(ca_bundle=lambda d, t: t / "nope.pem"),
        errors.InvalidSettingError,
        "SF_CA_BUNDLE",
    ),
    (
        "env file missing",
        _connect(env_file=lambda d, t: t / "absent.env"),
        errors.InvalidSettingError,
        "does not exist",
    ),
    (
        "env file, space inside secret",
        _connect(consumer_secret=None, env_file=_env_file('SF_CONSUMER_SECRET = "abc def"\n')),
        errors.InvalidSettingError,
        "whitespace",
    ),
    (
        "wrong secret",
        _connect(consumer_secret=SECRET),
        errors.InvalidClientSecretError,
        "consumer secret",
    ),
    (
        "unicode secret",
        _connect(consumer_secret="sécret-ünïcode-" + SECRET),
        errors.InvalidClientSecretError,
        "consumer secret",
    ),
    (
        "unknown key",
        _connect(consumer_key="3MVG9notAKey"),
        errors.InvalidClientIdError,
        "consumer key",
    ),
]

ORG_CASES: list[Case] = [
    ("empty SOQL", _query(""), errors.SfNotebookError, "SOQL"),
    ("whitespace SOQL", _query("   \n "), errors.SfNotebookError, "SOQL"),
    (
        "misspelt keyword",
        _query("SELEC Id FROM Account"),
        errors.MalformedQueryError,
        "MALFORMED_QUERY",
    ),
    ("no object", _query("SELECT Id FROM"), errors.MalformedQueryError, "MALFORMED_QUERY"),
    (
        "unterminated string",
        _query("SELECT Id FROM Account WHERE Name = 'Acme"),
        errors.MalformedQueryError,
        "MALFORMED_QUERY",
    ),
    (
        "negative limit",
        _query("SELECT Id FROM Account LIMIT -1"),
        errors.MalformedQueryError,
        "MALFORMED_QUERY",
    ),
    (
        "unknown field",
        _query("SELECT Id, Revenue__x FROM Account"),
        errors.InvalidFieldError,
        "Revenue__x",
    ),
    (
        "unknown parent field",
        _query("SELECT Account.Nope FROM Contact"),
        errors.InvalidFieldError,
        "INVALID_FIELD",
    ),
    (
        "unknown relationship",
        _query("SELECT Acount.Name FROM Contact"),
        errors.InvalidFieldError,
        "INVALID_FIELD",
    ),
    ("unknown object", _query("SELECT Id FROM Widget__c"), errors.InvalidTypeError, "Widget__c"),
    (
        "unknown child relationship",
        _query("SELECT Id, (SELECT Id FROM Widgets) FROM Account"),
        errors.SalesforceError,
        "Widgets",
    ),
    (
        "injection in SOQL text",
        _query("SELECT Id FROM Account WHERE Name = 'x' OR 1=1"),
        errors.MalformedQueryError,
        "MALFORMED_QUERY",
    ),
    (
        "report name unknown",
        _report("No Such Report Anywhere"),
        errors.ReportNotFoundError,
        "No Such Report Anywhere",
    ),
    ("report name ambiguous", _report("Open Pipeline"), errors.AmbiguousReportError, "00O"),
    ("report id malformed", _report("00Oxyz"), errors.ReportNotFoundError, "00Oxyz"),
    (
        "report filter column",
        _report("Pipeline by Stage", filters=[("NO_SUCH_COLUMN", "equals", "x")]),
        errors.SfNotebookError,
        "NO_SUCH_COLUMN",
    ),
    (
        "report filter operator",
        _report("Pipeline by Stage", filters=[("STAGE_NAME", "resembles", "x")]),
        errors.SfNotebookError,
        "resembles",
    ),
    (
        "bulk with a subquery",
        _extract("SELECT Id, (SELECT Id FROM Contacts) FROM Account"),
        errors.SfNotebookError,
        "Bulk",
    ),
    (
        "bulk with GROUP BY",
        _extract("SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName"),
        errors.SfNotebookError,
        "Bulk",
    ),
    (
        "bulk into a non-empty folder",
        _extract("SELECT Id FROM Account", to=_full_folder),
        errors.SfNotebookError,
        "empty or new folder",  # overwrite=True would not help: the folder holds a .txt
    ),
]


def _assert_useful(exc: BaseException, words: str, secrets: list[str]) -> None:
    import traceback

    text = str(exc)
    assert words.lower() in text.lower(), text
    assert len(text) > 30, "a message should say what to do, not just name the problem"
    dump = "".join(traceback.format_exception(exc))
    for secret in secrets:
        assert secret not in dump


@pytest.mark.parametrize(
    ("case", "call", "error", "words"), CONNECT_CASES, ids=[c[0] for c in CONNECT_CASES]
)
def test_bad_connect_input(
    demo_org: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    call: Any,
    error: type[Exception],
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error) as info:
        call(demo_org, tmp_path)
    _assert_useful(info.value, words, [demo_org.consumer_secret, SECRET])


@pytest.fixture(scope="module")
def victim(demo_org: Any) -> sfnotebook.Connection:
    """One connection that every bad call goes through; it must keep working."""
    return connect_to(demo_org)


@pytest.mark.parametrize(
    ("case", "call", "error", "words"), ORG_CASES, ids=[c[0] for c in ORG_CASES]
)
def test_bad_org_input(
    victim: sfnotebook.Connection,
    demo_org: Any,
    tmp_path: Path,
    case: str,
    call: Any,
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error) as info:
        call(victim, tmp_path)
    _assert_useful(
        info.value, words, [demo_org.consumer_secret, victim.token.access_token.reveal()]
    )
    # the connection is not corrupted: the next call works
    assert victim.query("SELECT COUNT() FROM User", progress=False) > 0


def test_the_table_is_big_enough() -> None:
    assert len(CONNECT_CASES) + len(ORG_CASES) >= 30
