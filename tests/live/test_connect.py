"""connect() against the demo org: the happy path, every error of the table, silent renewal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import sfnotebook
from sfnotebook import errors
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to


def _texts(exc: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def test_connect_works_and_knows_who_it_is(org: sfnotebook.Connection, demo_org: Any) -> None:
    assert org.instance_url == demo_org.url
    assert org.api_version == "68.0"  # newest the demo org lists, not simple-salesforce's 59.0
    assert org.user_id.startswith("005")
    assert org.org_id.startswith("00D")
    assert org.username and "@" in org.username
    text = repr(org)
    assert "\n" not in text
    assert demo_org.url in text and org.username in text and "v68.0" in text
    assert org.token.access_token.reveal() not in text + repr(org.token)


def test_simple_salesforce_is_one_attribute_away(org: sfnotebook.Connection) -> None:
    sf = org.sf
    assert sf.sf_version == "68.0"
    assert "X-PrettyPrint" not in sf.headers
    assert sf.session is org.session
    assert org.session.verify == org.settings.ca_bundle  # verification on, demo CA trusted


def test_limits_and_usage(org: sfnotebook.Connection) -> None:
    limits = org.limits(as_dict=True)
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] > 0
    assert org.api_usage is not None and org.api_usage[1] > 0


def test_pinned_api_version(demo_org: Any) -> None:
    conn = connect_to(demo_org, api_version="v60")
    assert conn.api_version == "60.0"
    assert conn.base_path == "/services/data/v60.0"


def test_expired_token_is_replaced_without_the_caller_noticing(demo_org: Any) -> None:
    conn = connect_to(demo_org)
    before = conn.token.access_token.reveal()
    demo_org.expire_sessions()
    assert conn.limits(as_dict=True)["DailyApiRequests"]["Max"] > 0  # our own call path
    assert conn.token.access_token.reveal() != before
    demo_org.expire_sessions()
    assert conn.sf.limits()  # simple-salesforce's call path, same session
    assert conn.stats["reexchanges"] == 2


@pytest.fixture
def broken(demo_org: Any) -> Iterator[dict[str, Any]]:
    base = {
        "domain": demo_org.domain,
        "ca_bundle": demo_org.ca_bundle,
        "env_file": False,
        "set_default": False,
    }
    yield base


SECRET_MARK = "secret-that-must-not-leak"


@pytest.mark.parametrize(
    ("case", "error", "words"),
    [
        ("unknown_key", errors.InvalidClientIdError, "consumer key"),
        ("wrong_secret", errors.InvalidClientSecretError, "consumer secret"),
        ("no_run_as", errors.RunAsUserMissingError, "Run As"),
        ("flow_disabled", errors.GrantTypeNotEnabledError, "Enable Client Credentials Flow"),
        ("login_host", errors.MyDomainRequiredError, "My Domain"),
    ],
)
def test_token_errors(
    demo_org: Any, broken: dict[str, Any], case: str, error: type[Exception], words: str
) -> None:
    key, secret = demo_org.consumer_key, demo_org.consumer_secret
    if case == "unknown_key":
        key = "3MVG9unknownKey0000000000000"
    elif case == "wrong_secret":
        secret = SECRET_MARK
    elif case in ("no_run_as", "flow_disabled"):
        key, secret = demo_org.apps[case]
    elif case == "login_host":
        broken["domain"] = demo_org.login_domain
    with pytest.raises(error, match=words) as info:
        sfnotebook.connect(consumer_key=key, consumer_secret=secret, **broken)
    text = _texts(info.value)
    assert secret not in text and SECRET_MARK not in text
    assert "Traceback" in text and "urllib3" not in text  # no noise from deep inside requests
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        ("unsupported_grant_type", errors.GrantTypeNotEnabledError, ["Enable Client Credentials"]),
        ("unauthorized_client", errors.GrantTypeNotEnabledError, ["Enable Client Credentials"]),
        ("invalid_grant", errors.GrantTypeNotEnabledError, ["Enable Client Credentials"]),
        # The answer a wrong secret gets too: the message names both causes.
        ("invalid_client", errors.InvalidClientSecretError,
         ["Either the consumer secret", "or the app does not have the client credentials flow",
          "Enable Client Credentials Flow"]),
    ],
)  # fmt: skip
def test_every_reported_answer_to_a_disabled_flow(
    demo_org: Any, broken: dict[str, Any], answer: str, error: type[Exception], words: list[str]
) -> None:
    """Salesforce's answer when the flow is off is not settled (fidelity-audit D13)."""
    assert answer in Dialect.choices()["flow_disabled_error"]
    key, secret = demo_org.apps["flow_disabled"]
    demo_org.set_dialect(flow_disabled_error=answer)
    try:
        with pytest.raises(error) as info:
            sfnotebook.connect(consumer_key=key, consumer_secret=secret, **broken)
    finally:
        demo_org.set_dialect(flow_disabled_error=Dialect().flow_disabled_error)
    assert info.value.error_code == answer and info.value.status == 400  # type: ignore[attr-defined]
    for word in words:
        assert word in str(info.value)
    assert secret not in _texts(info.value)


def test_refused_connection_names_the_host(demo_org: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(errors.NetworkError, match=f"127.0.0.1:{port} refused") as info:
        sfnotebook.connect(
            domain=f"127.0.0.1:{port}",
            consumer_key="k" * 20,
            consumer_secret=SECRET_MARK,
            env_file=False,
            ca_bundle=demo_org.ca_bundle,
        )
    assert SECRET_MARK not in _texts(info.value)


def test_tls_failure_without_the_demo_ca(demo_org: Any) -> None:
    with pytest.raises(errors.NetworkError, match="TLS verification") as info:
        sfnotebook.connect(
            domain=demo_org.domain,
            consumer_key=demo_org.consumer_key,
            consumer_secret=demo_org.consumer_secret,
            env_file=False,
        )
    assert demo_org.consumer_secret not in _texts(info.value)


def test_dns_failure_names_the_host() -> None:
    with pytest.raises(errors.NetworkError, match="could not be found"):
        sfnotebook.connect(
            domain="no-such-org.invalid",
            consumer_key="k" * 20,
            consumer_secret=SECRET_MARK,
            env_file=False,
        )


def test_http_to_a_remote_host_is_refused_before_sending() -> None:
    with pytest.raises(errors.InsecureDomainError, match="clear text"):
        sfnotebook.connect(
            domain="http://acme.my.salesforce.com",
            consumer_key="k" * 20,
            consumer_secret=SECRET_MARK,
            env_file=False,
        )


def test_debug_logging_never_shows_secret_or_token(
    demo_org: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        conn = connect_to(demo_org)
        demo_org.expire_sessions()
        conn.limits()
        logging.getLogger("urllib3").debug("probe")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert demo_org.consumer_secret not in text
    assert conn.token.access_token.reveal() not in text


def test_session_only_sends_the_token_to_the_instance(org: sfnotebook.Connection) -> None:
    with pytest.raises(errors.SfNotebookError, match="another host"):
        org.request("GET", "https://example.invalid/services/data/")


def test_rest_error_is_typed(org: sfnotebook.Connection) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        org.request("GET", "sobjects/NoSuchObject__c/describe")
    assert info.value.status == 404 and info.value.error_code == "NOT_FOUND"
    assert isinstance(info.value, errors.SalesforceError)
    assert not isinstance(info.value, requests.RequestException)
