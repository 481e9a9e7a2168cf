"""The token exchange and each of its errors, replayed from cassettes recorded off the demo org.

``make cassettes`` re-records them (``SFNOTEBOOK_RECORD=1``); everywhere else they replay, so
these tests pin the exact wire exchange without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sfnotebook
from sfnotebook import errors
from tests.cassettes.vcr_setup import CASSETTES, FILTERED, HOST, RECORDING, recorder

VCR = recorder("auth")
REPLAY_KEY = "3MVG9replayKey000000000000000"
REPLAY_SECRET = "replay-secret-not-real-0000"

CASES: list[tuple[str, type[Exception] | None]] = [
    ("token_exchange", None),
    ("invalid_client_id", errors.InvalidClientIdError),
    ("invalid_client", errors.InvalidClientSecretError),
    ("no_run_as", errors.RunAsUserMissingError),
    ("flow_disabled", errors.GrantTypeNotEnabledError),
    ("not_my_domain", errors.MyDomainRequiredError),
]


@pytest.fixture(scope="module")
def live() -> Iterator[Any]:
    """A demo org while recording; ``None`` on replay."""
    if not RECORDING:
        yield None
        return
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as demo:
        yield demo


def _credentials(case: str, demo: Any) -> dict[str, Any]:
    if demo is None:
        return {"domain": HOST, "consumer_key": REPLAY_KEY, "consumer_secret": REPLAY_SECRET}
    creds = {
        "domain": demo.domain,
        "consumer_key": demo.consumer_key,
        "consumer_secret": demo.consumer_secret,
        "ca_bundle": demo.ca_bundle,
    }
    if case == "invalid_client_id":
        creds["consumer_key"] = "3MVG9unknownKey0000000000000"
    elif case == "invalid_client":
        creds["consumer_secret"] = "wrong-secret-for-the-cassette"
    elif case in ("no_run_as", "flow_disabled"):
        creds["consumer_key"], creds["consumer_secret"] = demo.apps[case]
    elif case == "not_my_domain":
        creds["domain"] = demo.login_domain
    return creds


@pytest.mark.parametrize(("case", "error"), CASES, ids=[c for c, _ in CASES])
def test_replayed_exchange(case: str, error: type[Exception] | None, live: Any) -> None:
    creds = _credentials(case, live)
    with VCR.use_cassette(f"{case}.yaml"):
        if error is None:
            org = sfnotebook.connect(**creds, env_file=False, set_default=False)
            assert org.user_id.startswith("005")
            assert org.api_version == "68.0"
            assert org.limits(as_dict=True)["DailyApiRequests"]["Max"] > 0
        else:
            with pytest.raises(error) as info:
                sfnotebook.connect(**creds, env_file=False, set_default=False)
            assert creds["consumer_secret"] not in str(info.value)
    if live is not None:
        text = (CASSETTES / "auth" / f"{case}.yaml").read_text()
        assert creds["consumer_secret"] not in text
        assert live.consumer_secret not in text


_LEAKS = [
    re.compile(r"client_secret=(?!" + FILTERED + r")[^&\s'\"]+"),
    re.compile(r"client_id=(?!" + FILTERED + r")[^&\s'\"]+"),
    re.compile(r"\"access_token\":\s*\"(?!" + FILTERED + r")"),
    re.compile(r"Bearer\s+(?!" + FILTERED + r")[A-Za-z0-9!._-]{8,}"),
    re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{10,}"),  # the shape of a session id
    re.compile(r"(?im)^\s*-?\s*authorization:\s*\n?\s*-\s*(?!" + FILTERED + r")\S"),
]


def test_every_cassette_is_free_of_secrets_and_tokens() -> None:
    files = sorted(Path(CASSETTES).rglob("*.yaml"))
    assert files, "no cassettes found: run `make cassettes`"
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in _LEAKS:
            match = pattern.search(text)
            assert match is None, f"{path.name}: looks like a credential: {match.group(0)[:40]!r}"


def test_the_scanner_catches_a_leak(tmp_path: Path) -> None:
    """The scan above must be able to fail."""
    sample = 'body: {string: \'{"access_token": "00D5g000004Cz9E!AQ0AQH9yMx2Q9wq", "id": "x"}\'}\n'
    assert any(p.search(sample) for p in _LEAKS)
    assert any(
        p.search("grant_type=client_credentials&client_id=abc&client_secret=hunter2")
        for p in _LEAKS
    )
