"""Fixtures of the adversarial suite: a rewriting proxy in front of the session's demo org."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook
from tests.adversarial.proxy import RewritingProxy


@pytest.fixture(scope="session")
def proxy_server(demo_org: Any) -> Iterator[RewritingProxy]:
    with RewritingProxy(demo_org) as proxy:
        yield proxy


@pytest.fixture
def proxy(proxy_server: RewritingProxy) -> Iterator[RewritingProxy]:
    """The proxy with no rules; rules added by a test are gone after it."""
    proxy_server.clear()
    yield proxy_server
    proxy_server.clear()


def connect_through(proxy: RewritingProxy, **options: Any) -> sfnotebook.Connection:
    options.setdefault("backoff", 0.01)
    options.setdefault("retries", 2)
    options.setdefault("set_default", False)
    return sfnotebook.connect(**proxy.connect_kwargs(), env_file=False, **options)
