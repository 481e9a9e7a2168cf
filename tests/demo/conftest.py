"""Fixtures shared by the unit tests of the demo org's SOQL engine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfnotebook_demo.data import database as data

# A dataset small enough to build in a moment, with every object and relationship in it.
SMALL_DEMO_SIZES = {
    "opportunities": 400,
    "accounts": 40,
    "contacts": 300,
    "users": 10,
    "cases": 50,
    "tasks": 200,
}


@pytest.fixture(scope="session")
def small_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the small demo dataset (built once per test session)."""
    folder = tmp_path_factory.getbasetemp() / "demo-soql-db"
    db = data.Database(data.ensure_database(directory=folder, **SMALL_DEMO_SIZES))
    yield db.connect()
    db.close()


def token_session(demo: Any) -> tuple[requests.Session, dict[str, Any]]:
    """A requests session holding a client-credentials token of ``demo``, and the token answer.

    ``trust_env`` is off: ``$REQUESTS_CA_BUNDLE`` would otherwise replace the demo org's CA.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = demo.ca_bundle
    answer: dict[str, Any] = session.post(
        demo.url + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": demo.consumer_key,
            "client_secret": demo.consumer_secret,
        },
        timeout=30,
    ).json()
    session.headers["Authorization"] = f"Bearer {answer['access_token']}"
    return session, answer
