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


# --------------------------------------------------------------------------- profiles (issue 14)

UAT = {
    "SF_UAT_DOMAIN": "acme--uat.sandbox.my.salesforce.com",
    "SF_UAT_CONSUMER_KEY": "3MVG9_uat_key_0123456789",
    "SF_UAT_CONSUMER_SECRET": "UAT-secret-0123456789abcdef",
}
PLAIN = {
    "SF_DOMAIN": "acme.my.salesforce.com",
    "SF_CONSUMER_KEY": KEY,
    "SF_CONSUMER_SECRET": SECRET,
}


def test_a_profile_reads_its_prefixed_variables() -> None:
    s = load_settings(profile="uat", environ={**PLAIN, **UAT}, env_file=False)
    assert s.domain_url == "https://acme--uat.sandbox.my.salesforce.com"
    assert s.consumer_key == UAT["SF_UAT_CONSUMER_KEY"]
    assert s.consumer_secret.reveal() == UAT["SF_UAT_CONSUMER_SECRET"]
    assert s.profile == "uat"
    assert "profile='uat'" in repr(s) and UAT["SF_UAT_CONSUMER_SECRET"] not in repr(s)
    plain = load_settings(environ={**PLAIN, **UAT}, env_file=False)
    assert (plain.domain_url, plain.profile) == ("https://acme.my.salesforce.com", None)


def test_profile_names_are_case_blind_and_default_is_the_plain_set() -> None:
    env = {**PLAIN, **UAT}
    assert load_settings(profile="UAT", environ=env, env_file=False).profile == "uat"
    assert load_settings(profile="default", environ=env, env_file=False).profile is None


def test_a_profile_never_borrows_the_plain_domain_or_credentials() -> None:
    env = {**PLAIN, "SF_UAT_DOMAIN": UAT["SF_UAT_DOMAIN"]}
    with pytest.raises(MissingSettingError, match="SF_UAT_CONSUMER_KEY") as info:
        load_settings(profile="uat", environ=env, env_file=False)
    assert info.value.setting == "SF_UAT_CONSUMER_KEY"
    assert "SF_UAT_" in str(info.value) and SECRET not in str(info.value)


def test_a_profile_shares_the_plain_api_version_and_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {**UAT, "SF_API_VERSION": "61.0", "SF_CA_BUNDLE": str(bundle)}
    s = load_settings(profile="uat", environ=env, env_file=False)
    assert (s.api_version, s.ca_bundle) == ("61.0", str(bundle))
    own = load_settings(profile="uat", environ={**env, "SF_UAT_API_VERSION": "62"}, env_file=False)
    assert own.api_version == "62.0"


def test_profiles_come_from_env_file_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in {**PLAIN, **UAT}.items()))
    s = load_settings(profile="uat", environ={})
    assert s.consumer_key == UAT["SF_UAT_CONSUMER_KEY"]
    assert s.sources["consumer_key"] == str(tmp_path / ".env")
    # the environment wins over the file, as for the plain settings
    s = load_settings(profile="uat", environ={"SF_UAT_CONSUMER_KEY": "3MVG9_from_env_123456"})
    assert s.consumer_key == "3MVG9_from_env_123456"


def test_sf_profile_chooses_the_default_profile(tmp_path: Path) -> None:
    env = {**PLAIN, **UAT, "SF_PROFILE": "uat"}
    assert load_settings(environ=env, env_file=False).profile == "uat"
    # an explicit profile wins; "default" reaches the plain variables
    assert load_settings(profile="default", environ=env, env_file=False).profile is None
    (tmp_path / ".env").write_text("SF_PROFILE=uat\n")
    assert load_settings(environ={**PLAIN, **UAT}).profile == "uat"


@pytest.mark.parametrize("name", ["", "u-at", "1uat", "uat.x", "ü"])
def test_bad_profile_names(name: str) -> None:
    with pytest.raises(InvalidSettingError, match="profile"):
        load_settings(profile=name, environ={**UAT}, env_file=False)


def test_a_profile_variable_set_twice_in_env_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "SF_UAT_CONSUMER_KEY=one_key_0123456789\nSF_UAT_CONSUMER_KEY=two_key_0123456789\n"
    )
    with pytest.raises(InvalidSettingError, match="SF_UAT_CONSUMER_KEY is set twice"):
        load_settings(profile="uat", env_file=path, environ={})


# --------------------------------------------------------------------------- the domain's password


@pytest.mark.parametrize(
    ("given", "masked"),
    [
        ("https://bob:hunter2@acme.my.salesforce.com", "https://***@acme.my.salesforce.com"),
        ("bob:hunter2@acme.my.salesforce.com", "***@acme.my.salesforce.com"),
        ("acme.my.salesforce.com/a@b", "acme.my.salesforce.com/a@b"),  # in the path: kept
        ("acme.my.salesforce.com", "acme.my.salesforce.com"),
    ],
)
def test_mask_userinfo(given: str, masked: str) -> None:
    from sfnotebook.settings import mask_userinfo

    assert mask_userinfo(given) == masked


PASSWORD_DOMAIN = "https://bob:hunter2-pw@acme.my.salesforce.com"  # module level: no local


@pytest.mark.parametrize("source", ["argument", "environment", "env file"])
def test_a_password_in_the_domain_is_in_no_traceback_local(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The known leak (issue 14): the SF_DOMAIN password showed in traceback locals."""
    import traceback

    (tmp_path / "x.env").write_text(f"SF_DOMAIN={PASSWORD_DOMAIN}\n")
    if source == "environment":
        monkeypatch.setenv("SF_DOMAIN", PASSWORD_DOMAIN)
    with pytest.raises(InvalidSettingError, match="user name or password") as info:
        if source == "argument":
            load_settings(domain=PASSWORD_DOMAIN, **GOOD_CREDS, env_file=False, environ={})
        elif source == "environment":
            load_settings(**GOOD_CREDS, env_file=False)  # os.environ
        else:
            load_settings(**GOOD_CREDS, env_file=tmp_path / "x.env", environ={})
    shown = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert "hunter2-pw" not in shown
    assert SECRET not in shown


GOOD_CREDS = {"consumer_key": KEY, "consumer_secret": SECRET}
