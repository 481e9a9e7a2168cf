"""The one object that holds secrets: it shows nothing, pickles nowhere, compares safely."""

from __future__ import annotations

import copy
import pickle
import traceback

import pytest

from sfnotebook._secret import Secret, redact
from sfnotebook.settings import load_settings

VALUE = "hunter2-0123456789abcdef"


def test_it_shows_nothing() -> None:
    s = Secret(VALUE)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>30}", repr([s])):
        assert VALUE not in text
    assert s.reveal() == VALUE


def test_pickling_refuses_and_says_why() -> None:
    with pytest.raises(TypeError, match="does not pickle secrets"):
        pickle.dumps(Secret(VALUE))
    settings = load_settings(
        domain="acme.my.salesforce.com",
        consumer_key="k" * 20,
        consumer_secret=VALUE,
        env_file=False,
    )
    with pytest.raises(TypeError, match="does not pickle secrets"):
        pickle.dumps(settings)


def test_copies_are_the_same_object_and_it_is_immutable() -> None:
    s = Secret(VALUE)
    assert copy.copy(s) is s and copy.deepcopy(s) is s
    with pytest.raises(AttributeError):
        s._value = "other"  # type: ignore[misc]


def test_equality_and_hash() -> None:
    assert Secret(VALUE) == Secret(VALUE) and Secret(VALUE) != Secret("other")
    assert hash(Secret(VALUE)) == hash(Secret(VALUE))
    assert Secret(VALUE) != VALUE  # never equal to its clear text
    assert not Secret("") and Secret(VALUE)
    assert Secret(Secret(VALUE)).reveal() == VALUE
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_a_secret_local_shows_masked_in_a_traceback_with_locals() -> None:
    def fail(secret: Secret) -> None:
        raise ValueError("boom")

    try:
        fail(Secret(VALUE))
    except ValueError as exc:
        text = "".join(
            traceback.TracebackException.from_exception(exc, capture_locals=True).format()
        )
    assert "Secret('***')" in text and VALUE not in text


def test_load_settings_wraps_the_argument_at_once() -> None:
    """The reported example: the argument itself was a local of load_settings."""
    with pytest.raises(Exception) as info:
        load_settings(consumer_key="k" * 20, consumer_secret=VALUE, env_file=False, environ={})
    text = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert "MissingSettingError" in text and VALUE not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"access_token": "00D000000000001!AQabcdefghijklmnop", "x": 1}',
            '{"access_token": "***", "x": 1}',
        ),
        (
            "grant_type=client_credentials&client_secret=abc123&client_id=k",
            "grant_type=client_credentials&client_secret=***&client_id=k",
        ),
        ("Bearer 00D000000000001!AQabcdefghijklmnop", "Bearer ***"),
        ('{"signature": "c2lnbmF0dXJl"}', '{"signature": "***"}'),
        ("<html>Login</html>", "<html>Login</html>"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(f"echo {VALUE}", [Secret(VALUE), None]) == "echo ***"
