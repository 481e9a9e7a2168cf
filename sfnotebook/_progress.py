"""Progress bars for long results: tqdm's notebook-aware bar, only where someone is watching.

A shown bar does not just vanish when it is done: it leaves one line saying what was fetched,
``49,028 rows · 26 runs · 27 API calls · 4.1 s`` (the API calls are counted on the
connection's session from the caller's :class:`Tally`, so they include the calls made before
the bar appeared). A bar that did not finish (an error, an interrupt: fewer rows than its
total) leaves nothing, so no summary ever claims a result that was not returned.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "NullBar",
    "SummaryBar",
    "Tally",
    "in_interactive_kernel",
    "progress_bar",
    "summary_text",
]

Enabled = bool | Literal["auto"] | str  # "auto"; other strings count as "auto" too


@dataclass
class Tally:
    """When a verb started and how many requests its session had sent by then."""

    session: Any = None  # an ApiSession (its ``stats["requests"]``), or None: calls not counted
    started: float = field(default_factory=time.monotonic)
    requests: int = 0

    @classmethod
    def start(cls, session: Any = None) -> Tally:
        """A tally from now, counting ``session``'s requests (None: no API call count)."""
        return cls(session=session, requests=_requests(session))

    def calls(self) -> int | None:
        """Requests sent on the session since :meth:`start` (None without a session)."""
        now = _requests(self.session)
        return None if self.session is None else now - self.requests

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _requests(session: Any) -> int:
    stats = getattr(session, "stats", None)
    try:
        return int(stats["requests"]) if stats is not None else 0
    except (KeyError, TypeError, ValueError):
        return 0


def summary_text(
    rows: int,
    *,
    unit: str = "rows",
    runs: int | None = None,
    calls: int | None = None,
    elapsed: float | None = None,
    state: str | None = None,
) -> str:
    """``"JobComplete · 49,028 rows · 26 runs · 27 API calls · 4.1 s"`` (parts given only)."""
    parts = [state] if state else []
    parts.append(f"{rows:,} {unit}")
    if runs is not None:
        parts.append(f"{runs:,} run" + ("" if runs == 1 else "s"))
    if calls is not None:
        parts.append(f"{calls:,} API call" + ("" if calls == 1 else "s"))
    if elapsed is not None:
        parts.append(f"{elapsed:.1f} s")
    return " · ".join(parts)


class NullBar:
    """A bar that shows nothing (non-interactive runs, ``progress=False``)."""

    n = 0
    total: int | None = None

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Accepts and ignores a postfix, like tqdm's."""

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Accepts and ignores a description, like tqdm's."""

    def status(self, text: str) -> None:
        """Accepts and ignores a status line (see :meth:`SummaryBar.status`)."""

    def finish_state(self, state: str | None) -> None:
        """Accepts and ignores the final state (see :meth:`SummaryBar.finish_state`)."""

    def reset(self, total: int | None = None) -> None:
        self.n = 0
        self.total = total

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SummaryBar:
    """A shown tqdm bar that leaves a one-line summary when it completes.

    ``status(text)`` shows only ``text`` (a job's state while nothing is counted, instead of
    tqdm's ``0.00/?``); ``reset(total)`` brings the counting bar back. ``close()`` hides the bar
    and, if every expected unit arrived (or no total was announced), prints the summary.
    """

    def __init__(
        self,
        bar: Any,
        *,
        unit: str,
        tally: Tally | None,
        runs: Callable[[], int] | None,
        out: Any = None,
    ) -> None:
        self.bar = bar
        self.unit = unit
        self.tally = tally or Tally.start()
        self.runs = runs
        self.state: str | None = None
        self.out = out
        self.summary: str | None = None  # the line printed at close, once printed
        self._closed = False

    @property
    def n(self) -> int:
        return int(self.bar.n)

    @property
    def total(self) -> int | None:
        total = self.bar.total
        return None if total is None else int(total)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.bar.set_postfix_str(s, refresh=refresh)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.bar.set_description(desc, refresh=refresh)

    def status(self, text: str) -> None:
        """Show ``text`` alone: no count, no rate, no ``?`` (until :meth:`reset`)."""
        self.bar.bar_format = "{desc}"
        self.bar.set_description(text)

    def finish_state(self, state: str | None) -> None:
        """The state the summary starts with (a Bulk job's ``JobComplete``)."""
        self.state = state

    def reset(self, total: int | None = None) -> None:
        self.bar.bar_format = None
        self.bar.reset(total=total)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        finished = self.total is None or self.n >= self.total
        self.bar.close()
        if finished:
            self.summary = summary_text(
                self.n,
                unit=self.unit,
                runs=self.runs() if self.runs is not None else None,
                calls=self.tally.calls(),
                elapsed=self.tally.elapsed(),
                state=self.state,
            )
            print(self.summary, file=self.out or sys.stdout)

    def __enter__(self) -> SummaryBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc and exc[0] is not None:
            self._closed = True  # failed: hide the bar, claim nothing
            self.bar.close()
        self.close()


def in_interactive_kernel() -> bool:
    """True inside a Jupyter kernel or an interactive IPython terminal.

    A bare ``InteractiveShell`` (as test suites and embedding code create) does not count:
    nobody is watching it.
    """
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    if ip is None:
        return False
    if type(ip).__name__ in {"ZMQInteractiveShell", "TerminalInteractiveShell"}:
        return True
    return "IPKernelApp" in getattr(ip, "config", {})


def progress_bar(
    total: int | None,
    *,
    enabled: Enabled = "auto",
    desc: str | None = None,
    unit: str = "rows",
    tally: Tally | None = None,
    runs: Callable[[], int] | None = None,
) -> Any:
    """A progress bar for ``total`` units: a :class:`SummaryBar` if enabled, else a :class:`NullBar`.

    ``enabled="auto"`` shows it only inside an interactive IPython kernel (so scripts, tests and
    CI logs stay clean); ``True`` always shows it; ``False`` never does. ``tally`` (taken when
    the verb started) gives the summary's API calls and time; ``runs()`` its report runs.
    """
    show = in_interactive_kernel() if isinstance(enabled, str) else bool(enabled)
    if not show:
        bar = NullBar()
        bar.total = total
        return bar
    from tqdm.auto import tqdm  # imported lazily: keeps `import sfnotebook` fast

    inner = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)
    return SummaryBar(inner, unit=unit, tally=tally, runs=runs)
