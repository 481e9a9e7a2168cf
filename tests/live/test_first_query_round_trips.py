"""The first query on a fresh connection in one round trip (issue 13, item 2).

Page 1 goes out with the root object's describe and the describes of the parents guessed from
the relationships' names (``Account`` -> Account, ``Owner`` -> User: ``sfnotebook.soql._plan``);
what page 1 names that they did not bring goes out next, at once (page 1's ``attributes.type``;
an all-null parent's object from the root describe's ``referenceTo``). The same query again is
one round trip. Counted with the chain counter of ``test_round_trips``: the longest chain of
requests each sent after the one before had ended, never a clock. Requests sent together are
sent a moment apart; where a count of 1 depends on their overlapping, each answer takes 0.2 s
(``slow``), so they overlap however threads are scheduled (at no latency one can end before
the next thread has started).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook._session import ApiSession
from sfnotebook.soql import _plan
from tests.conftest import connect_to
from tests.live.test_round_trips import _Trips

PATHS = "SELECT Id, Name, Amount, Account.Name, Account.Owner.Name FROM Opportunity"
BENCH = (
    "SELECT Id, Name, StageName, Amount, Probability, CloseDate, IsWon, CreatedDate, LeadSource, "
    "Account.Name, Account.Industry, Account.Owner.Name, Owner.Name FROM Opportunity LIMIT 10"
)


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


@pytest.fixture
def slow(demo_org: Any) -> Iterator[None]:
    demo_org.set_faults(latency=0.2)
    yield
    demo_org.set_faults()


def _describes(trips: _Trips) -> list[str]:
    return sorted(what.split("/sobjects/")[1] for what in trips.sent() if "/describe" in what)


def _restart(trips: _Trips) -> None:
    trips.events, trips._started = _Trips().events, 0


def _dtypes(frame: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in frame.dtypes.items()}


def test_a_first_query_is_one_round_trip_and_the_same_again_one(
    fresh: sfnotebook.Connection, trips: _Trips, slow: None
) -> None:
    frame = fresh.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert frame["Account.Owner.Name"].notna().any() and len(frame) == 50
    assert _describes(trips) == [
        "Account/describe",
        "Opportunity/describe",
        "User/describe",
    ], trips.sent()
    assert len(trips.sent()) == 4
    assert trips.sequential() == 1, trips.events  # page 1, root, Account and User at once

    _restart(trips)
    fresh.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert len(trips.sent()) == 1 and trips.sequential() == 1, trips.events


@pytest.fixture
def guessed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The objects the plan prefetches as guesses, in the order it does."""
    names: list[str] = []
    real = _plan.prefetch

    def spy(describe_of: Any, name: str) -> None:
        names.append(name)
        real(describe_of, name)

    monkeypatch.setattr(_plan, "prefetch", spy)
    return names


def test_the_bench_query_is_one_round_trip_and_the_same_frame_as_without_guesses(
    demo_org: Any,
    fresh: sfnotebook.Connection,
    trips: _Trips,
    slow: None,
    guessed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    frame = fresh.query(BENCH, progress=False)
    assert sorted(guessed) == ["Account", "User"]
    assert _describes(trips) == ["Account/describe", "Opportunity/describe", "User/describe"]
    assert len(trips.sent()) == 4 and trips.sequential() == 1, trips.events
    assert frame["Account.Owner.Name"].notna().any() and frame["Owner.Name"].notna().all()

    # Warm: the same query again on the same connection, every describe in memory.
    _restart(trips)
    warm = fresh.query(BENCH, progress=False)
    assert len(trips.sent()) == 1
    # The old way: another fresh connection (its own empty describe cache), no guesses.
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "old"))
    monkeypatch.setattr(_plan, "GUESSES", 0)
    old = connect_to(demo_org)
    _restart(trips)
    guessed.clear()
    unguessed = old.query(BENCH, progress=False)
    assert guessed == [] and trips.sequential() == 2, trips.events  # page 1 + root; then the rest
    for other in (warm, unguessed):
        pd.testing.assert_frame_equal(frame, other)
        assert _dtypes(other) == _dtypes(frame)
    assert _dtypes(frame)["Amount"] == "Float64" and _dtypes(frame)["IsWon"] == "boolean"
    assert _dtypes(frame)["Account.Owner.Name"] == "string"


def test_an_all_null_parent_is_found_from_the_root_describe(
    fresh: sfnotebook.Connection, trips: _Trips
) -> None:
    # What (Account or Opportunity) is polymorphic: not guessed. Null on every row, page 1
    # names neither; the root describe's referenceTo does, in the second wave.
    frame = fresh.query(
        "SELECT Id, What.Name FROM Task WHERE Subject = 'no such task'", progress=False
    )
    assert len(frame) == 0 and str(frame["What.Name"].dtype) == "string"
    assert _describes(trips) == ["Account/describe", "Opportunity/describe", "Task/describe"]
    assert trips.sequential() == 2, trips.events


def test_an_all_null_guessed_parent_is_one_round_trip(
    fresh: sfnotebook.Connection, trips: _Trips, slow: None
) -> None:
    frame = fresh.query(
        "SELECT Id, Account.Name FROM Opportunity WHERE Name = 'no such opportunity'",
        progress=False,
    )
    assert len(frame) == 0 and str(frame["Account.Name"].dtype) == "string"
    assert _describes(trips) == ["Account/describe", "Opportunity/describe"]
    assert trips.sequential() == 1, trips.events


@pytest.mark.parametrize(
    "soql",
    [
        # What and Who are polymorphic (not guessed); Owner is guessed User.
        "SELECT Id, Subject, What.Name, Who.Name, Owner.Name FROM Task ORDER BY Id LIMIT 20",
        # Report's Owner is a Folder, an Organization or a User: the guess of User is a part.
        "SELECT Id, Name, Owner.Name FROM Report ORDER BY Id LIMIT 20",
    ],
)
def test_a_guess_that_misses_costs_at_most_the_second_wave(
    demo_org: Any, fresh: sfnotebook.Connection, trips: _Trips, soql: str
) -> None:
    frame = fresh.query(soql, progress=False)
    assert "User/describe" in _describes(trips)
    assert trips.sequential() <= 2, trips.events
    _restart(trips)
    # Again: every describe the org has is in hand now (those it has not, Folder say, are
    # asked again, and fail again), so this frame is typed from them alone.
    warm = fresh.query(soql, progress=False)
    assert not [
        what for what in trips.sent() if what.endswith(("/User/describe", "/Task/describe"))
    ]
    pd.testing.assert_frame_equal(frame, warm)
    assert set(_dtypes(frame).values()) == {"string"}, _dtypes(frame)


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


# -- a fresh process: the first request before pandas and pyarrow ----------------------------

# A new kernel, as the time to first frame counts it (bench/run_all.py, "interactive"): import,
# connect(), the first query, the same query again. ``connect()`` imports pandas and pyarrow on
# a thread of its own once its first request has gone out (sfnotebook._warm). Recorded: what
# was imported as each request reached requests' adapter, which thread imported pandas and
# pyarrow, and each step's round trips, with the chain counter of test_round_trips (each
# request held at its start until another starts, so an overlap is seen on any machine).
_SCRIPT = r"""
import json, sys, threading
import requests.adapters

HOLD = 2.0  # seconds a lone request waits for a partner: a guard, never a measure
events, importers, spans = [], {}, []
cond, started = threading.Condition(), [0]
real = requests.adapters.HTTPAdapter.send


class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in ("pandas", "pyarrow") and name not in importers:
            importers[name] = threading.current_thread().name
        return None


sys.meta_path.insert(0, Spy())


def send(self, request, *args, **kwargs):
    loaded = ["pyarrow" in sys.modules, "pandas" in sys.modules]
    with cond:
        mine = started[0]
        started[0] += 1
        events.append([request.method, request.path_url.split("?")[0], *loaded])
        spans.append(("start", mine))
        cond.notify_all()
        cond.wait_for(lambda: started[0] > mine + 1, timeout=HOLD)
    try:
        return real(self, request, *args, **kwargs)
    finally:
        with cond:
            spans.append(("end", mine))


def sequential(part):
    ended, chain, done = set(), {}, {}
    for kind, number in part:
        if kind == "start":
            chain[number] = 1 + max((done[n] for n in ended), default=0)
        else:
            ended.add(number)
            done[number] = chain[number]
    return max(chain.values(), default=0)


requests.adapters.HTTPAdapter.send = send
import sfnotebook

imported = [sorted(m for m in ("pandas", "pyarrow") if m in sys.modules)]
org = sfnotebook.connect(**json.loads(sys.argv[1]), env_file=False, set_default=False)
marks = [len(spans)]
frame = org.query(sys.argv[2], progress=False)
marks.append(len(spans))
org.query(sys.argv[2], progress=False)
print(json.dumps({
    "events": events,
    "importers": importers,
    "imported_by_import": imported[0],
    "round_trips": [
        sequential(spans[: marks[0]]),
        sequential(spans[marks[0] : marks[1]]),
        sequential(spans[marks[1] :]),
    ],
    "frame": [type(frame).__module__.split(".")[0], len(frame)],
}))
"""


def test_a_new_kernel_sends_first_and_imports_pandas_meanwhile(
    demo_org: Any, tmp_path: Any
) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        "SFNOTEBOOK_CACHE_DIR": str(tmp_path / "cache"),  # no describes kept: a first kernel
    }
    query = f"{PATHS} ORDER BY Id LIMIT 50"
    demo_org.set_faults(latency=0.2)  # data requests only: connect()'s are not slowed
    try:
        run = subprocess.run(
            [sys.executable, "-c", _SCRIPT, json.dumps(demo_org.connect_kwargs()), query],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
    finally:
        demo_org.set_faults()
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    events = out["events"]
    assert out["imported_by_import"] == []  # import sfnotebook: neither
    _, path, arrow, pandas = events[0]
    assert path.endswith(("/oauth2/token", "/services/data/")), events  # connect()'s first
    assert (arrow, pandas) == (False, False), events  # went out before either was imported
    # ... which connect()'s warm-up thread then imported, not the caller's.
    assert out["importers"] == {"pyarrow": "sfnotebook-warm", "pandas": "sfnotebook-warm"}, out
    # The same round trips as without the warm-up: connect 1, the first query 1 (its guessed
    # describes beside page 1), again 1.
    assert out["round_trips"] == [1, 1, 1], out
    kinds = sorted(path.rsplit("/", 1)[-1] for _, path, _, _ in events)
    assert kinds.count("describe") == 3 and kinds.count("query") == 2, events
    assert out["frame"] == ["pandas", 50]


def test_a_new_kernel_with_kept_describes_is_one_round_trip_and_guesses_nothing(
    demo_org: Any,
    fresh: sfnotebook.Connection,
    trips: _Trips,
    slow: None,
    guessed: list[str],
) -> None:
    """A second connection (a new kernel) revalidates every kept describe beside page 1; the
    kept copies answer every path, so nothing is guessed."""
    assert fresh.describe_cache  # on by default; tests/conftest.py gives the run its own folder
    first = fresh.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert sorted(guessed) == ["Account", "User"] and trips.sequential() == 1, trips.events
    kernel = connect_to(demo_org)  # nothing in memory: only the disk cache
    _restart(trips)
    guessed.clear()
    again = kernel.query(f"{PATHS} ORDER BY Id LIMIT 50", progress=False)
    assert guessed == []  # Opportunity's kept copy names Account, Account's names User
    assert _describes(trips) == ["Account/describe", "Opportunity/describe", "User/describe"]
    assert trips.sequential() == 1, trips.events  # page 1 and the three revalidations at once
    assert again.equals(first)
    assert str(again["Account.Owner.Name"].dtype) == str(first["Account.Owner.Name"].dtype)
