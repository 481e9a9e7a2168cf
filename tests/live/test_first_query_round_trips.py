"""The first query on a fresh connection in two sequential round trips (issue 13, item 2).

Page 1 goes out with the root object's describe; then every parent describe goes out at once
(page 1's ``attributes.type`` names them; an all-null parent's object comes from the root
describe's ``referenceTo``). The same query again is one round trip. Counted with the chain
counter of ``test_round_trips``: the longest chain of requests each sent after the one before
had ended, never a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook
from sfnotebook._session import ApiSession
from tests.conftest import connect_to
from tests.live.test_round_trips import _Trips

PATHS = "SELECT Id, Name, Amount, Account.Name, Account.Owner.Name FROM Opportunity"


@pytest.fixture
def fresh(demo_org: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> sfnotebook.Connection:
    # An empty describe cache of its own: a fresh connection of a kernel that kept none.
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return connect_to(demo_org)  # connected before the counting starts


@pytest.fixture
def trips(fresh: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Trips]:
    recorder = _Trips()
    real = ApiSession.request

    def spy(session: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        assert not args, "the client passes request options by keyword"
        return recorder.record(real, session, method, url, **kwargs)

    monkeypatch.setattr(ApiSession, "request", spy)
    yield recorder


def _describes(trips: _Trips) -> list[str]:
    return sorted(what.split("/sobjects/")[1] for what in trips.sent() if "/describe" in what)


def test_a_first_query_is_two_round_trips_and_the_same_again_one(
    fresh: sfnotebook.Connection, trips: _Trips
) -> None:
    frame = fresh.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert frame["Account.Owner.Name"].notna().any() and len(frame) == 50
    assert _describes(trips) == [
        "Account/describe",
        "Opportunity/describe",
        "User/describe",
    ], trips.sent()
    assert len(trips.sent()) == 4
    assert trips.sequential() == 2, trips.events  # page 1 + root; then Account and User

    again = _Trips()
    trips.events, trips._started = again.events, 0
    fresh.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert len(trips.sent()) == 1 and trips.sequential() == 1, trips.events


def test_an_all_null_parent_is_found_from_the_root_describe(
    fresh: sfnotebook.Connection, trips: _Trips
) -> None:
    frame = fresh.query(
        "SELECT Id, Account.Name FROM Opportunity WHERE Name = 'no such opportunity'",
        progress=False,
    )
    assert len(frame) == 0 and str(frame["Account.Name"].dtype) == "string"
    assert _describes(trips) == ["Account/describe", "Opportunity/describe"]
    assert trips.sequential() == 2, trips.events


def test_child_objects_are_described_with_the_parents(
    fresh: sfnotebook.Connection, trips: _Trips
) -> None:
    result = fresh.query(
        "SELECT Id, Owner.Name, (SELECT Id, LastName FROM Contacts) FROM Account "
        "ORDER BY Id LIMIT 20",
        progress=False,
    )
    assert len(result.children["Contacts"]) > 0
    assert _describes(trips) == ["Account/describe", "Contact/describe", "User/describe"]
    assert trips.sequential() == 2, trips.events


# -- the first request before pandas and pyarrow ----------------------------------------------

_SCRIPT = r"""
import json, sys
import requests.adapters

events = []
real = requests.adapters.HTTPAdapter.send


def send(self, request, *args, **kwargs):
    loaded = ["pyarrow" in sys.modules, "pandas" in sys.modules]
    events.append([request.method, request.path_url.split("?")[0], *loaded])
    return real(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = send
import sfnotebook

org = sfnotebook.connect(**json.loads(sys.argv[1]), env_file=False, set_default=False)
frame = org.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 5", progress=False)
events.append(["frame", type(frame).__module__.split(".")[0], len(frame), "pandas" in sys.modules])
print(json.dumps(events))
"""


def test_the_first_query_is_sent_before_pandas_and_pyarrow_are_imported(demo_org: Any) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(demo_org.connect_kwargs())],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    events = json.loads(run.stdout.strip().splitlines()[-1])
    sent = {
        (method, path.rsplit("/", 1)[-1]): (arrow, pandas)
        for method, path, arrow, pandas in events[:-1]
    }
    assert sent[("GET", "query")] == (False, False), events  # page 1 went out first
    assert sent[("GET", "describe")] == (False, False), events  # with the root describe
    assert events[-1] == ["frame", "pandas", 5, True]


def test_a_new_kernel_with_kept_describes_is_one_round_trip(
    demo_org: Any, fresh: sfnotebook.Connection, trips: _Trips
) -> None:
    """A second connection (a new kernel) revalidates every kept describe beside page 1."""
    assert fresh.describe_cache  # on by default; tests/conftest.py gives the run its own folder
    first = fresh.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert trips.sequential() == 2, trips.events
    kernel = connect_to(demo_org)  # nothing in memory: only the disk cache
    trips.events, trips._started = _Trips().events, 0
    # Each answer takes 0.2 s, so requests sent together overlap however threads are
    # scheduled (at no latency one can end before the next thread has started).
    demo_org.set_faults(latency=0.2)
    try:
        again = kernel.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    finally:
        demo_org.set_faults()
    assert _describes(trips) == ["Account/describe", "Opportunity/describe", "User/describe"]
    assert trips.sequential() == 1, trips.events  # page 1 and the three revalidations at once
    assert again.equals(first)
    assert str(again["Account.Owner.Name"].dtype) == str(first["Account.Owner.Name"].dtype)
