"""Hostile ``.env`` files and domains: each case has one exact outcome.

Either the exact parsed settings, or the typed error whose message names the variable, says
what to do, and never holds the secret (not in the message, not in a traceback with locals).
No network: these run against :func:`load_settings` and :func:`normalize_domain` only.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import pytest

from sfnotebook.errors import (
    ConfigurationError,
    InsecureDomainError,
    InvalidSettingError,
    MissingSettingError,
    MyDomainRequiredError,
)
from sfnotebook.settings import MAX_ENV_BYTES, find_env_file, load_settings, normalize_domain

KEY = "3MVG9hostile_key_0123456789"
SECRET = "S3cretHostile9f8e7d6c5b4a"
DOMAIN = "acme.my.salesforce.com"
GOOD = f"SF_DOMAIN={DOMAIN}\nSF_CONSUMER_KEY={KEY}\nSF_CONSUMER_SECRET={SECRET}\n"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)


def _write(folder: Path, data: bytes | str) -> Path:
    path = folder / ".env"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _load(path: Path | str) -> tuple[str, str, str]:
    s = load_settings(env_file=path, environ={})
    return s.domain_url, s.consumer_key, s.consumer_secret.reveal()


def _refused(path: Path | str, error: type[Exception], *words: str) -> ConfigurationError:
    """The error of loading ``path``: its type, its words, and no secret anywhere in it."""
    with pytest.raises(error) as info:
        load_settings(env_file=path, environ={})
    exc = info.value
    assert isinstance(exc, ConfigurationError)
    for word in words:
        assert word in str(exc), f"{word!r} not in {str(exc)!r}"
    _assert_no_secret(exc)
    return exc


def _assert_no_secret(exc: BaseException, *secrets: str) -> None:
    shown = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    for secret in (SECRET, *secrets):
        assert secret not in str(exc) and secret not in repr(exc.args)
        assert secret not in shown, "the secret is in a traceback with locals"


# --------------------------------------------------------------------------- .env: parsed


@pytest.mark.parametrize(
    ("case", "content", "expected"),
    [
        ("CRLF line endings", GOOD.replace("\n", "\r\n"), (DOMAIN, KEY, SECRET)),
        ("CR line endings", GOOD.replace("\n", "\r"), (DOMAIN, KEY, SECRET)),
        ("UTF-8 BOM", "\ufeff" + GOOD, (DOMAIN, KEY, SECRET)),
        ("export prefixes", "".join(f"export {line}\n" for line in GOOD.splitlines()),
         (DOMAIN, KEY, SECRET)),
        ("single quotes", f"SF_DOMAIN='{DOMAIN}'\nSF_CONSUMER_KEY='{KEY}'\n"
         f"SF_CONSUMER_SECRET='{SECRET}'\n", (DOMAIN, KEY, SECRET)),
        ("double quotes", f'SF_DOMAIN="{DOMAIN}"\nSF_CONSUMER_KEY="{KEY}"\n'
         f'SF_CONSUMER_SECRET="{SECRET}"\n', (DOMAIN, KEY, SECRET)),
        ("spaces around =", f"SF_DOMAIN = {DOMAIN}\nSF_CONSUMER_KEY= {KEY}\n"
         f"SF_CONSUMER_SECRET ={SECRET}\n", (DOMAIN, KEY, SECRET)),
        ("trailing spaces and tabs", GOOD.replace("\n", "  \t\n"), (DOMAIN, KEY, SECRET)),
        ("# inside an unquoted value", GOOD.replace(SECRET, "abc#def"), (DOMAIN, KEY, "abc#def")),
        ("# after a space is a comment", GOOD.replace(SECRET, SECRET + " # rotated in May"),
         (DOMAIN, KEY, SECRET)),
        ("# inside quotes", GOOD.replace(SECRET, f"'{SECRET}#x' # note"),
         (DOMAIN, KEY, SECRET + "#x")),
        ("= inside a value", GOOD.replace(SECRET, "ab==cd="), (DOMAIN, KEY, "ab==cd=")),
        ("${VAR} is not expanded", GOOD.replace(SECRET, "${HOME}x"), (DOMAIN, KEY, "${HOME}x")),
        ("duplicated key, same value", GOOD + f"SF_DOMAIN={DOMAIN}\n", (DOMAIN, KEY, SECRET)),
        ("duplicated other key", GOOD + "OTHER=1\nOTHER=2\n", (DOMAIN, KEY, SECRET)),
        ("unbalanced quote on another variable", 'OTHER="oops\n' + GOOD,
         (DOMAIN, KEY, SECRET)),
        ("comments, blank lines, other variables",
         "# settings\n\nDEBUG=1\n" + GOOD + "\n# end\n", (DOMAIN, KEY, SECRET)),
        ("NUL in a comment", "# \x00\n" + GOOD, (DOMAIN, KEY, SECRET)),
        ("a trailing dot on the domain", GOOD.replace(DOMAIN, DOMAIN + "."),
         (DOMAIN, KEY, SECRET)),
        ("no newline at the end", GOOD.rstrip("\n"), (DOMAIN, KEY, SECRET)),
    ],
)  # fmt: skip
def test_env_files_that_parse(
    tmp_path: Path, case: str, content: str, expected: tuple[str, str, str]
) -> None:
    domain, key, secret = expected
    assert _load(_write(tmp_path, content)) == (f"https://{domain}", key, secret)


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    padding = "#" * (MAX_ENV_BYTES - len(GOOD) - 1) + "\n"
    path = _write(tmp_path, padding + GOOD)
    assert path.stat().st_size == MAX_ENV_BYTES
    assert _load(path) == (f"https://{DOMAIN}", KEY, SECRET)


# --------------------------------------------------------------------------- .env: refused


@pytest.mark.parametrize(
    ("case", "content", "error", "words"),
    [
        ("unbalanced double quote", GOOD.replace(SECRET, f'"{SECRET}'), InvalidSettingError,
         ("Line 3 of", "sets SF_CONSUMER_SECRET but cannot be read", 'SF_CONSUMER_SECRET="value"')),
        ("unbalanced single quote", GOOD.replace(DOMAIN, f"'{DOMAIN}"), InvalidSettingError,
         ("Line 1 of", "sets SF_DOMAIN but cannot be read")),
        ("unbalanced quote after export", "export " + GOOD.replace(KEY, f"'{KEY}"),
         InvalidSettingError, ("sets SF_CONSUMER_KEY but cannot be read",)),
        ("duplicated key, different values", GOOD + "SF_CONSUMER_SECRET=anotherSecret123\n",
         InvalidSettingError, ("SF_CONSUMER_SECRET is set twice", "lines 3 and 4",
                               "Keep one of them")),
        ("a quoted value with spaces", GOOD.replace(SECRET, f'"{SECRET} x"'),
         InvalidSettingError, ("SF_CONSUMER_SECRET contains whitespace", "Copy the value again")),
        ("a quoted multi-line value", GOOD.replace(SECRET, f'"{SECRET}\nrest"'),
         InvalidSettingError, ("SF_CONSUMER_SECRET contains whitespace",)),
        ("NUL byte in the secret", GOOD.replace(SECRET, SECRET[:5] + "\x00" + SECRET[5:]),
         InvalidSettingError, ("SF_CONSUMER_SECRET contains a control character",
                               "Copy the value again")),
        ("escape character in the key", GOOD.replace(KEY, KEY + "\x1b"), InvalidSettingError,
         ("SF_CONSUMER_KEY contains a control character",)),
        ("NUL byte in the domain", GOOD.replace(DOMAIN, DOMAIN + "\x00x"), InvalidSettingError,
         ("SF_DOMAIN", "control characters", "Give the My Domain host")),
        ("Latin-1, not UTF-8", GOOD.encode() + "# caf\xe9\n".encode("latin-1"),
         InvalidSettingError, ("is not UTF-8 text", "Save it as UTF-8")),
        ("empty value", GOOD.replace(f"SF_DOMAIN={DOMAIN}", "SF_DOMAIN="), MissingSettingError,
         ("SF_DOMAIN is not set", "The .env file read was")),
        ("a name without =", GOOD.replace(f"SF_DOMAIN={DOMAIN}", "SF_DOMAIN"),
         MissingSettingError, ("SF_DOMAIN is not set",)),
        ("lower-case name", GOOD.replace("SF_DOMAIN", "sf_domain"), MissingSettingError,
         ("SF_DOMAIN is not set",)),
        ("the secret left out", GOOD.replace(f"SF_CONSUMER_SECRET={SECRET}\n", ""),
         MissingSettingError, ("SF_CONSUMER_SECRET is not set", "Consumer Secret")),
    ],
)  # fmt: skip
def test_env_files_that_are_refused(
    tmp_path: Path,
    case: str,
    content: str | bytes,
    error: type[Exception],
    words: tuple[str, ...],
) -> None:
    path = _write(tmp_path, content)
    exc = _refused(path, error, *words)
    if isinstance(exc, MissingSettingError):
        assert exc.setting in str(exc)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "#" * MAX_ENV_BYTES)
    _refused(
        path, InvalidSettingError, "larger than 1,024 KiB", "Point env_file= at the right file"
    )


def test_a_folder_given_as_env_file(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    _refused(folder, InvalidSettingError, "is a folder", "Pass the file inside it")


def test_a_folder_called_env_is_passed_over_when_searching(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / ".env").mkdir()  # a virtual environment, say
    _write(tmp_path, GOOD)
    assert find_env_file(tmp_path / "project") == tmp_path / ".env"


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, GOOD)
    # The tests may run as root, for whom mode 000 changes nothing: the OS's refusal is
    # simulated where the file is opened.
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    _refused(path, InvalidSettingError, "cannot be read: permission denied", "chmod 600")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_a_mode_000_file(tmp_path: Path) -> None:  # pragma: no cover - not as root
    path = _write(tmp_path, GOOD)
    path.chmod(0)
    _refused(path, InvalidSettingError, "permission denied")


def test_a_symlink_loop(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.symlink_to(tmp_path / ".env")
    _refused(path, InvalidSettingError, "symbolic link to nothing", "Fix or remove the link")
    with pytest.raises(InvalidSettingError, match="symbolic link to nothing"):
        load_settings(environ={})  # found by the upward search: an error, not a silent skip


def test_a_dangling_symlink(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.symlink_to(tmp_path / "secrets" / "missing.env")
    _refused(path, InvalidSettingError, "symbolic link to nothing")


def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    os.mkfifo(path)  # opening it would block for ever
    _refused(path, InvalidSettingError, "is not a regular file")


def test_a_path_with_a_nul_byte(tmp_path: Path) -> None:
    _refused("dir\x00/.env", InvalidSettingError, "does not exist")
    with pytest.raises(InvalidSettingError, match="SF_CA_BUNDLE"):
        load_settings(
            domain=DOMAIN, consumer_key=KEY, consumer_secret=SECRET, ca_bundle="ca\x00.pem",
            env_file=False, environ={},
        )  # fmt: skip


def test_the_environment_wins_over_a_hostile_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace(DOMAIN, "evil.example"))
    settings = load_settings(env_file=path, environ={"SF_DOMAIN": DOMAIN})
    assert settings.domain_url == f"https://{DOMAIN}"
    assert settings.sources["domain"] == "environment"


# --------------------------------------------------------------------------- domains


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acme.my.salesforce.com.", "https://acme.my.salesforce.com"),
        ("ACME.My.Salesforce.COM", "https://acme.my.salesforce.com"),
        ("xn--cme-8cd.my.salesforce.com", "https://xn--cme-8cd.my.salesforce.com"),
        ("localhost.evil.com", "https://localhost.evil.com"),  # https: a name like any other
        ("acme.my.salesforce.com:8443", "https://acme.my.salesforce.com:8443"),
        ("https://acme.my.salesforce.com:443/", "https://acme.my.salesforce.com"),
        ("10.1.2.3", "https://10.1.2.3"),
        ("[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("  acme.my.salesforce.com\n", "https://acme.my.salesforce.com"),
    ],
)
def test_domains_accepted(given: str, expected: str) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "error", "words"),
    [
        ("evil.com#.my.salesforce.com", InvalidSettingError,
         ("path, query or fragment", "(https://evil.com)", "give the host only")),
        ("x.my.salesforce.com@evil.com", InvalidSettingError,
         ("user name or password", "'evil.com'", "Give the My Domain host only")),
        ("user:pa55word@acme.my.salesforce.com", InvalidSettingError,
         ("user name or password", "Give the My Domain host only")),
        ("https://user:pa55word@acme.my.salesforce.com/path?q=1", InvalidSettingError,
         ("user name or password",)),
        ("acme.my.salesforce.com\\@evil.com", InvalidSettingError, ("'evil.com'",)),
        ("аcme.my.salesforce.com", InvalidSettingError, ("non-ASCII", "xn--")),  # Cyrillic а
        ("acme.my.salesforce.com..", InvalidSettingError, ("not a valid host name",)),
        ("login.salesforce.com.", MyDomainRequiredError, ("My Domain",)),
        ("2130706433", InvalidSettingError, ("not a valid host name",)),
        ("http://2130706433", InvalidSettingError, ("not a valid host name",)),
        ("http://localhost.evil.com", InsecureDomainError, ("clear text", "Use https://")),
        ("http://127.0.0.2", InsecureDomainError, ("clear text",)),
        ("http://10.1.2.3", InsecureDomainError, ("clear text",)),
        ("acme.my.salesforce.com:0", InvalidSettingError, ("port 0", "Leave the port out")),
        ("acme.my.salesforce.com:99999", InvalidSettingError, ("1 to 65535",)),
        ("acme.my.salesforce.com:https", InvalidSettingError, ("1 to 65535",)),
        ("acme.my.salesforce.com/services", InvalidSettingError, ("path, query or fragment",)),
        ("acme.my.salesforce.com?x=1", InvalidSettingError, ("path, query or fragment",)),
        ("https://acme.my.salesforce.com#", InvalidSettingError, ("path, query or fragment",)),
        ("acme%2emy.salesforce.com", InvalidSettingError, ("not a valid host name",)),
        ("acme.my.sales force.com", InvalidSettingError, ("spaces or control characters",)),
        ("acme.my.\nsalesforce.com", InvalidSettingError, ("spaces or control characters",)),
        ("acme\u200b.my.salesforce.com", InvalidSettingError, ("spaces or control characters",)),
        ("acme.my.salesforce.com;evil.com", InvalidSettingError, ("not a valid host name",)),
        ("javascript:alert(1)", InvalidSettingError, ("not a host name",)),
        ("ftp://acme.my.salesforce.com", InvalidSettingError, ("scheme 'ftp'",)),
    ],
)  # fmt: skip
def test_domains_refused(given: str, error: type[Exception], words: tuple[str, ...]) -> None:
    with pytest.raises(error) as info:
        normalize_domain(given)
    message = str(info.value)
    assert "SF_DOMAIN" in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "pa55word" not in message


def test_a_domain_with_a_password_from_env_never_shows_it(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace(DOMAIN, "admin:pa55word@" + DOMAIN + "/x"))
    exc = _refused(path, InvalidSettingError, "SF_DOMAIN", "user name or password")
    # The message does not repeat it (a traceback with locals does: SF_DOMAIN is no secret).
    assert "pa55word" not in str(exc) and "pa55word" not in repr(exc.args)
