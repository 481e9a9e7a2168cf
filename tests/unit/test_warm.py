"""The warm-up of ``connect()`` (:mod:`sfnotebook._warm`): imports that wait for the first send.

Each test imports a probe module served by a finder of its own (no file, no real package), so
what the warm-up thread did is recorded where it happened: which thread imported the probe and
whether the event it waits for was set by then. Nothing is timed: each wait has a guard of
:data:`GUARD` seconds that only a broken warm-up runs into (and one of 0.3 s that a correct
one always waits out, where a broken finish() would return).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import re
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import requests
import requests.adapters

from sfnotebook import _warm
from sfnotebook._session import ApiSession
from sfnotebook._warm import Warmup

GUARD = 10.0  # seconds: a guard against a hang, never a measure
_numbers = itertools.count()


class Gate(threading.Event):
    """The event the warm-up waits for; :attr:`waiting` is set once its thread waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


class Probe(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module, ``name``: records each import of it, runs ``body`` as its code."""

    def __init__(self, body: Callable[[], None] = lambda: None) -> None:
        self.name = f"sfnotebook_warm_probe_{next(_numbers)}"
        self.body = body
        self.imports: list[str] = []  # the thread of each import
        self.gate: threading.Event | None = None
        self.gate_was_set: list[bool] = []

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        self.imports.append(threading.current_thread().name)
        if self.gate is not None:
            self.gate_was_set.append(self.gate.is_set())
        self.body()

    @property
    def loaded(self) -> bool:
        return self.name in sys.modules


@pytest.fixture
def probe() -> Iterator[Probe]:
    found = Probe()
    sys.meta_path.insert(0, found)
    yield found
    sys.meta_path.remove(found)
    sys.modules.pop(found.name, None)


def test_the_imports_wait_for_the_event(probe: Probe) -> None:
    gate = Gate()
    probe.gate = gate
    warmup = Warmup([probe.name])
    assert warmup.start(gate)
    assert gate.waiting.wait(GUARD)  # the thread waits for the event ...
    assert not probe.loaded and probe.imports == []  # ... and has imported nothing
    gate.set()
    warmup.finish()
    assert probe.loaded
    assert probe.imports == [_warm.THREAD_NAME] and probe.gate_was_set == [True]


class _Held(requests.adapters.BaseAdapter):
    """Answers 200 once ``imported`` is set (the probe's import ran while the request was out)."""

    def __init__(self, probe: Probe, imported: threading.Event) -> None:
        super().__init__()
        self.probe = probe
        self.imported = imported
        self.loaded_in_flight: list[bool] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.loaded_in_flight.append(self.imported.wait(GUARD))
        resp = requests.Response()
        resp.status_code, resp.request, resp.url = 200, request, str(request.url)
        resp._content = b"{}"
        return resp

    def close(self) -> None:
        pass


def test_the_warm_up_starts_when_the_session_sends_its_first_request(probe: Probe) -> None:
    imported = threading.Event()
    probe.body = imported.set
    session = ApiSession()
    adapter = _Held(probe, imported)
    session.mount("https://", adapter)
    probe.gate = session.sending
    warmup = Warmup([probe.name])
    warmup.start(session.sending)
    assert not session.sending.is_set()
    resp = session.get("https://acme.my.salesforce.com/services/data/")
    assert resp.status_code == 200 and session.sending.is_set()
    warmup.finish()
    assert probe.imports == [_warm.THREAD_NAME] and probe.gate_was_set == [True]
    assert adapter.loaded_in_flight == [True]  # imported while the request was out


def test_a_request_that_fails_before_it_is_sent_still_releases_the_warm_up() -> None:
    session = ApiSession()
    with pytest.raises(UnicodeDecodeError):
        session.request("GET", b"https://acme.my.salesforce.com/\xff")  # refused before sending
    assert session.sending.is_set()
    other = ApiSession()
    with pytest.raises(requests.exceptions.MissingSchema):
        other.get("acme.my.salesforce.com/services/data/")  # no scheme: refused unsent
    assert other.sending.is_set()


def test_finish_waits_for_the_imports_under_way(probe: Probe) -> None:
    started, release = threading.Event(), threading.Event()
    complete: list[bool] = []

    def body() -> None:
        started.set()
        assert release.wait(GUARD)
        complete.append(True)

    probe.body = body
    gate = Gate()
    warmup = Warmup([probe.name])
    warmup.start(gate)
    gate.set()
    assert started.wait(GUARD)  # the probe's import is under way on the warm-up thread
    returned = threading.Event()
    seen: list[bool] = []

    def finisher() -> None:
        warmup.finish()
        seen.append(bool(complete))
        returned.set()

    threading.Thread(target=finisher, daemon=True).start()
    assert not returned.wait(0.3)  # guard: a finish() that does not wait returns here
    release.set()
    assert returned.wait(GUARD)
    assert seen == [True]  # finish() returned only once the import had completed


@pytest.mark.parametrize("error", [ImportError("no module named 'pyarrow'"), RuntimeError("bad")])
def test_a_failed_import_is_raised_on_the_callers_thread(probe: Probe, error: Exception) -> None:
    def body() -> None:
        raise error

    probe.body = body
    gate = Gate()
    warmup = Warmup([probe.name])
    warmup.start(gate)
    gate.set()
    warmup.finish()  # raises nothing itself
    assert warmup.failed == probe.name and not probe.loaded
    with pytest.raises(type(error), match=re.escape(str(error))):
        importlib.import_module(probe.name)  # the caller's own import: the real error
    assert probe.imports == [_warm.THREAD_NAME, threading.current_thread().name]


def test_it_starts_once_and_finish_can_be_called_again(probe: Probe) -> None:
    warmup = Warmup([probe.name])
    warmup.finish()  # not started: returns at once, and starting later still works
    first, second = Gate(), Gate()
    assert warmup.start(first)
    assert not warmup.start(second)  # a second connection starts no second thread
    assert warmup.started
    first.set()
    warmup.finish()
    warmup.finish()
    assert probe.imports == [_warm.THREAD_NAME]
    assert not second.waiting.is_set()


def test_finish_before_the_event_imports_nothing_and_does_not_wait(probe: Probe) -> None:
    gate = Gate()
    warmup = Warmup([probe.name])
    warmup.start(gate)
    assert gate.waiting.wait(GUARD)
    warmup.finish()  # returns at once: the caller imports what it needs itself
    gate.set()
    thread = warmup._thread
    assert thread is not None
    thread.join(GUARD)
    assert not thread.is_alive() and probe.imports == []


def test_the_warm_up_names_the_modules_a_query_converts_with() -> None:
    # The soql run path imports these after finish() (sfnotebook.soql._run._load_frames).
    assert _warm.MODULES[0] == "sfnotebook.soql"
    assert {"sfnotebook.soql._frames", "pandas"} <= set(_warm.MODULES)
    for name in _warm.MODULES:
        assert importlib.util.find_spec(name) is not None, name
