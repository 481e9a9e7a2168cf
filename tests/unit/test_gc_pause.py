"""The cyclic collector paused while results are built, counted across threads (sfnotebook._gc)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from sfnotebook import _gc


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_a_pause_restores_an_enabled_collector_even_on_error() -> None:
    gc.enable()
    with pytest.raises(ValueError), _gc.paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()


def test_a_collector_the_process_disabled_stays_disabled() -> None:
    gc.disable()
    with _gc.paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_on_two_threads_end_with_the_last() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with _gc.paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with _gc.paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread's pause is still on
    release.set()
    thread.join(10)
    assert gc.isenabled()
