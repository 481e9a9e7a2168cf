"""What travels to Spark executors and Dask workers (sfnotebook/_worker.py): never the secret."""

from __future__ import annotations

import pickle

import pytest

from sfnotebook._secret import Secret
from sfnotebook._worker import TokenConnection, WorkerGrant, grant_for, worker_connection
from sfnotebook.errors import InvalidSettingError, WorkerTokenExpiredError

TOKEN = "00DXX0000000001!AQ4AQFakeTokenValue.abcdefghijklmnop"


def _grant(**changes: object) -> WorkerGrant:
    fields: dict[str, object] = {
        "credentials": "token",
        "instance_url": "https://acme.my.salesforce.com",
        "api_version": "62.0",
        "identity_url": "https://login.salesforce.com/id/00DXX0000000001/005XX0000000001",
        "issued_at": "2026-12-01T10:00:00+00:00",
        "token": Secret(TOKEN),
    }
    fields.update(changes)
    return WorkerGrant(**fields)  # type: ignore[arg-type]


def test_a_grant_never_shows_its_token() -> None:
    grant = _grant()
    assert TOKEN not in repr(grant) and TOKEN not in str(grant)
    assert "token='***'" in repr(grant)


def test_a_token_grant_pickles_the_token_and_comes_back_as_a_secret() -> None:
    blob = pickle.dumps(_grant())
    assert TOKEN.encode() in blob  # the scheme: the access token travels, on purpose
    back = pickle.loads(blob)  # noqa: S301 - our own bytes
    assert isinstance(back.token, Secret) and back.token.reveal() == TOKEN
    assert back.key() == _grant().key()


def test_an_environment_grant_holds_nothing_secret() -> None:
    blob = pickle.dumps(_grant(credentials="environment", token=None))
    assert b"00DXX0000000001!" not in blob
    assert pickle.loads(blob).token is None  # noqa: S301 - our own bytes


def test_task_names_see_a_digest_of_the_token_only() -> None:
    token = _grant().__dask_tokenize__()
    assert TOKEN not in repr(token)
    assert token != _grant(token=Secret(TOKEN + "x")).__dask_tokenize__()


def test_grant_for_hands_over_the_token_not_the_settings() -> None:
    conn = TokenConnection(_grant())
    grant = grant_for(conn)
    assert grant.token is not None and grant.token.reveal() == TOKEN
    assert (grant.instance_url, grant.api_version) == ("https://acme.my.salesforce.com", "62.0")
    assert grant_for(conn, "environment").token is None
    with pytest.raises(InvalidSettingError, match="'token'.*'environment'"):
        grant_for(conn, "secret")


def test_a_token_connection_speaks_to_its_instance_only() -> None:
    conn = TokenConnection(_grant())
    assert conn.url("jobs/query") == "https://acme.my.salesforce.com/services/data/v62.0/jobs/query"
    assert conn.org_id == "00DXX0000000001"
    assert TOKEN not in repr(conn)


def test_an_expired_token_says_what_to_do() -> None:
    conn = TokenConnection(_grant())
    assert conn.session.reauthenticate is not None
    with pytest.raises(WorkerTokenExpiredError) as info:
        conn.session.reauthenticate(conn.token.access_token)
    text = str(info.value)
    assert "credentials='environment'" in text and "job_id" in text
    assert TOKEN not in text
    assert info.value.error_code == "INVALID_SESSION_ID"


def test_one_connection_per_process_and_grant() -> None:
    first = worker_connection(_grant())
    assert worker_connection(_grant()) is first
    assert worker_connection(_grant(token=Secret(TOKEN + "2"))) is not first
