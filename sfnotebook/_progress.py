"""Progress bars for long results: tqdm's notebook-aware bar, only where someone is watching."""

from __future__ import annotations

import sys
from typing import Any, Literal

__all__ = ["NullBar", "in_interactive_kernel", "progress_bar"]

Enabled = bool | Literal["auto"] | str  # "auto"; other strings count as "auto" too


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

    def reset(self, total: int | None = None) -> None:
        self.n = 0
        self.total = total

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
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
    total: int | None, *, enabled: Enabled = "auto", desc: str | None = None, unit: str = "rows"
) -> Any:
    """A progress bar for ``total`` units: ``tqdm.auto`` if enabled, else a :class:`NullBar`.

    ``enabled="auto"`` shows it only inside an interactive IPython kernel (so scripts, tests and
    CI logs stay clean); ``True`` always shows it; ``False`` never does.
    """
    show = in_interactive_kernel() if isinstance(enabled, str) else bool(enabled)
    if not show:
        bar = NullBar()
        bar.total = total
        return bar
    from tqdm.auto import tqdm  # imported lazily: keeps `import sfnotebook` fast

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)
