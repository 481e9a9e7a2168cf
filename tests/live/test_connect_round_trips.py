"""``connect()`` in one round trip, counted, not timed (issue 13, item 2): the token exchange
and the API versions go together (the Versions resource needs no token), and the identity is
asked on first use. The chain counter is the one of ``test_round_trips``: each request is held
at its start until another starts while it is in flight, so an overlap is seen on any machine.
"""

from __future__ import annotations

from typing import Any

import pytest

import sfnotebook
from sfnotebook import errors
from sfnotebook._secret import Secret
from tests.conftest import connect_to
from tests.live.test_round_trips import _Trips, trips  # noqa: F401 - the fixture

__all__: list[str] = []


def _kinds(sent: list[str]) -> list[str]:
    out = []
    for what in sent:
        if "/services/oauth2/token" in what:
            out.append("token")
        elif what.endswith("/services/data/"):
            out.append("versions")
        elif "/id/" in what:
            out.append("identity")
        else:
            out.append(what)
    return out


def test_connect_is_one_round_trip(demo_org: Any, trips: _Trips) -> None:  # noqa: F811
    conn = connect_to(demo_org)
    assert sorted(_kinds(trips.sent())) == ["token", "versions"], trips.sent()
    assert trips.sequential() == 1, trips.events  # the token and the versions together
    assert conn.api_version == "68.0" and conn.org_id and conn.user_id
    assert not conn.identity_fetched
    text = repr(conn)  # what a traceback shows: sends nothing
    assert conn.user_id in text and len(trips.sent()) == 2


def test_the_versions_go_without_the_token(demo_org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, bool]] = []
    real = sfnotebook.Connection._offered_versions

    def spy(self: sfnotebook.Connection, base_url: str) -> list[str]:
        seen.append((base_url, self.session.auth is None))
        return real(self, base_url)

    monkeypatch.setattr(sfnotebook.Connection, "_offered_versions", spy)
    connect_to(demo_org)
    assert seen == [(demo_org.url, True)]  # asked of the My Domain, with no token to send


def test_the_identity_is_asked_once_on_first_use(demo_org: Any, trips: _Trips) -> None:  # noqa: F811
    conn = connect_to(demo_org)
    assert "@" in conn.username  # the Run As user's username, from the identity URL
    assert _kinds(trips.sent()).count("identity") == 1
    card = conn._repr_html_()
    assert conn.username in card
    assert conn.username in repr(conn)
    assert _kinds(trips.sent()).count("identity") == 1  # asked once per connection


def test_the_connection_card_shows_the_username_of_a_fresh_connection(demo_org: Any) -> None:
    conn = connect_to(demo_org)
    assert not conn.identity_fetched
    card = conn._repr_html_()
    assert conn.identity_fetched and conn.identity["username"] in card


def test_versions_refused_without_a_token_are_asked_again_with_it(
    demo_org: Any,
    monkeypatch: pytest.MonkeyPatch,
    trips: _Trips,  # noqa: F811
) -> None:
    """Not what Salesforce documents, but what an org behind a gateway might do."""

    def refused(self: sfnotebook.Connection, base_url: str) -> list[str]:
        raise errors.SalesforceError(
            "Session expired or invalid", status=401, url="/services/data/"
        )

    monkeypatch.setattr(sfnotebook.Connection, "_offered_versions", refused)
    conn = connect_to(demo_org)
    assert conn.api_version == "68.0"
    assert _kinds(trips.sent()) == ["token", "versions"]  # the second one, with the token
    assert trips.sequential() == 2


def test_another_versions_failure_is_raised_typed(
    demo_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(self: sfnotebook.Connection, base_url: str) -> list[str]:
        raise errors.ServerUnavailableError("Server unavailable", status=503, url="/services/data/")

    monkeypatch.setattr(sfnotebook.Connection, "_offered_versions", unavailable)
    with pytest.raises(errors.ServerUnavailableError):
        connect_to(demo_org)


def test_the_token_error_wins_over_the_versions(demo_org: Any, trips: _Trips) -> None:  # noqa: F811
    kwargs = {**demo_org.connect_kwargs(), "consumer_secret": Secret("wrong")}
    with pytest.raises(errors.InvalidClientSecretError, match="consumer secret"):
        sfnotebook.connect(**kwargs, env_file=False, set_default=False, backoff=0.01)
    assert sorted(_kinds(trips.sent())) == ["token", "versions"]
    assert trips.sequential() == 1


def test_a_pinned_version_the_org_does_not_offer_is_refused(demo_org: Any) -> None:
    with pytest.raises(errors.InvalidSettingError, match="SF_API_VERSION 12.0 is not offered"):
        connect_to(demo_org, api_version="12.0")
    assert connect_to(demo_org, api_version="60.0").api_version == "60.0"
