"""Settings: argument > environment > nearest .env; every mistake gets a typed, useful error."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfnotebook.errors import (
    InsecureDomainError,
    InvalidSettingError,
    MissingSettingError,
    MyDomainRequiredError,
)
from sfnotebook.settings import load_settings, normalize_api_version, normalize_domain

KEY = "3MVG9_key_for_tests_0123456789"
SECRET = "S3CRET-for-settings-tests-9f8e7d"
GOOD = {"domain": "acme.my.salesforce.com", "consumer_key": KEY, "consumer_secret": SECRET}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in an empty folder with no SF_* variables."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "SF_DOMAIN",
        "SF_CONSUMER_KEY",
        "SF_CONSUMER_SECRET",
        "SF_API_VERSION",
        "SF_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        (
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://acme--uat.sandbox.my.salesforce.com",
        ),
        (
            "https://acme--uat.sandbox.my.salesforce.com/",
            "https://acme--uat.sandbox.my.salesforce.com",
        ),
        ("  ACME.my.salesforce.com  ", "https://acme.my.salesforce.com"),
        ("login.acme-corp.example", "https://login.acme-corp.example"),
        ("https://acme.my.salesforce.com:443", "https://acme.my.salesforce.com"),
        ("127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("http://localhost:8080", "http://localhost:8080"),
    ],
)
def test_domain_forms(given: str, expected: str) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "error", "words"),
    [
        ("login.salesforce.com", MyDomainRequiredError, "My Domain"),
        ("https://test.salesforce.com", MyDomainRequiredError, "My Domain"),
        ("acme.lightning.force.com", MyDomainRequiredError, "acme.my.salesforce.com"),
        ("acme.my.salesforce-setup.com", MyDomainRequiredError, "Setup host"),
        ("http://acme.my.salesforce.com", InsecureDomainError, "clear text"),
        ("https://acme.my.salesforce.com/services/oauth2/token", InvalidSettingError, "path"),
        ("acme my.salesforce.com", InvalidSettingError, "spaces"),
        ("ftp://acme.my.salesforce.com", InvalidSettingError, "scheme"),
        ("acme_.my.salesforce.com", InvalidSettingError, "not a valid host"),
        ("https://user:pw@acme.my.salesforce.com", InvalidSettingError, "user name"),
    ],
)
def test_bad_domains(given: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        normalize_domain(given)


@pytest.mark.parametrize(
    ("given", "expected"), [("68", "68.0"), ("v67.0", "67.0"), ("66.0", "66.0"), (None, None)]
)
def test_api_version_forms(given: str | None, expected: str | None) -> None:
    assert normalize_api_version(given) == expected


@pytest.mark.parametrize("given", ["sixty-eight", "68.0.1", "v", "6"])
def test_bad_api_version(given: str) -> None:
    with pytest.raises(InvalidSettingError, match="68.0"):
        normalize_api_version(given)


def test_arguments_win_over_environment_and_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "SF_DOMAIN=file.my.salesforce.com\nSF_CONSUMER_KEY=filekey\nSF_CONSUMER_SECRET=filesecret\n"
    )
    monkeypatch.setenv("SF_DOMAIN", "env.my.salesforce.com")
    s = load_settings(domain="arg.my.salesforce.com")
    assert s.domain_url == "https://arg.my.salesforce.com"
    assert s.consumer_key == "filekey"
    assert s.sources["domain"] == "argument"
    assert s.sources["consumer_key"] == str(tmp_path / ".env")
    monkeypatch.setenv("SF_CONSUMER_KEY", "envkey")
    assert load_settings().consumer_key == "envkey"
    assert load_settings().domain_url == "https://env.my.salesforce.com"


def test_env_file_found_upward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        f"SF_DOMAIN = \"acme.my.salesforce.com\"\nSF_CONSUMER_KEY='{KEY}'\nSF_CONSUMER_SECRET={SECRET}  \n"
    )
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    s = load_settings()
    assert (s.domain_url, s.consumer_key, s.consumer_secret.reveal()) == (
        "https://acme.my.salesforce.com",
        KEY,
        SECRET,
    )
    assert s.env_file == tmp_path / ".env"


@pytest.mark.parametrize("missing", ["SF_DOMAIN", "SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"])
def test_missing_variable_names_it_and_the_env_file(missing: str, tmp_path: Path) -> None:
    lines = {
        "SF_DOMAIN": "acme.my.salesforce.com",
        "SF_CONSUMER_KEY": KEY,
        "SF_CONSUMER_SECRET": SECRET,
    }
    del lines[missing]
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    with pytest.raises(MissingSettingError) as info:
        load_settings()
    assert missing in str(info.value)
    assert str(tmp_path / ".env") in str(info.value)
    assert SECRET not in str(info.value)


def test_missing_without_any_env_file_says_none_was_found() -> None:
    with pytest.raises(MissingSettingError, match="No .env file was found"):
        load_settings()


def test_explicit_env_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettingError, match="does not exist"):
        load_settings(env_file=tmp_path / "nope.env")


def test_ca_bundle_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettingError, match="SF_CA_BUNDLE"):
        load_settings(**GOOD, ca_bundle=tmp_path / "missing.pem", env_file=False)


def test_secret_with_inner_space_is_refused() -> None:
    with pytest.raises(InvalidSettingError, match="whitespace") as info:
        load_settings(
            domain="acme.my.salesforce.com",
            consumer_key=KEY,
            consumer_secret="abc def",
            env_file=False,
        )
    assert "abc def" not in str(info.value)


def test_unicode_values_survive(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"SF_DOMAIN=acme.my.salesforce.com\nSF_CONSUMER_KEY=clé{KEY}\nSF_CONSUMER_SECRET=ß{SECRET}\n",
        encoding="utf-8",
    )
    s = load_settings()
    assert s.consumer_secret.reveal() == "ß" + SECRET


def test_repr_hides_secret_and_most_of_key() -> None:
    s = load_settings(**GOOD, env_file=False)
    text = repr(s) + str(s)
    assert SECRET not in text
    assert KEY not in text
    assert "acme.my.salesforce.com" in text
