"""A bounded soak in `make test`: several threads, faults on, every frame checked.

It runs under both cursor rules of the demo's dialect (fidelity-audit D4): with
``query_cursors="session"`` every session expiry ends the cursors of the queries in flight and
the client reads them again from page 1, with ``"user"`` the renewed session continues them.
Under ``"session"``, a query whose cursor is lost after each of its restarts raises the
documented typed error (bench/soak.py counts those apart); any other error fails.
"""

from __future__ import annotations

import pytest

from bench.soak import SOAK_KEY, run_soak
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to


@pytest.mark.slow
@pytest.mark.parametrize("cursors", Dialect.choices()["query_cursors"])
def test_soak_with_faults(request: pytest.FixtureRequest, cursors: str) -> None:
    from sfnotebook_demo import DemoOrg

    with DemoOrg(dialect={"query_cursors": cursors}) as demo:
        report = run_soak(demo, seconds=20, threads=4, connect=lambda: connect_to(demo, retries=6))
    request.config.stash.setdefault(SOAK_KEY, []).append(report.summary())
    assert report.mismatches == []
    assert report.errors == []
    if cursors == "user":  # a renewed session continues the cursor: nothing to give up
        assert report.given_up == []
    assert report.frames_compared >= 8
    injected = sum(v for k, v in report.faults.items() if k != "latency")
    assert injected > 0 and report.client["retries"] > 0 and report.client["reexchanges"] > 0
