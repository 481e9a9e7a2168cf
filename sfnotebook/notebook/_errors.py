"""sfnotebook errors in IPython: the type, the message and the user's own line, no library frames.

An error raised deep in a verb (``org.query`` -> paging -> the connection -> the error body)
would otherwise show some sixty lines of sfnotebook's frames before the message, which is the
part that says what to do. IPython lets a library handle its own exceptions
(``shell.set_custom_exc``); :func:`install` registers :func:`show_error` for
:class:`~sfnotebook.errors.SfNotebookError`, and it is called by ``%load_ext sfnotebook`` and by
the first ``connect()`` in an IPython session.

What the handler shows depends on ``%xmode``:

* ``Context``, ``Plain``, ``Docs`` (the usual): the frames of the user's code (the cell, and
  the user's own modules) down to the call into sfnotebook, rendered by IPython as usual,
  then ``TypeName: message`` and one line saying how many library frames were left out. The
  chained exception (``raise ... from`` a ``requests`` error) is left out too: the message
  already says what it meant. For a magic (``%%soql``) only the error is shown: the cell is
  the magic's input, not code.
* ``Minimal``: ``TypeName: message``.
* ``Verbose``: everything IPython would show, every frame with its locals, with secrets
  masked: the values of every :class:`~sfnotebook._secret.Secret` in those frames and of the
  open connections (consumer secrets, access tokens), anything shaped like a session id, and
  a password in a URL (``https://user:pw@host``).

``%tb`` still prints the full, unfiltered traceback of the last error.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from sfnotebook._secret import Secret, redact
from sfnotebook.errors import SfNotebookError

__all__ = ["install", "mask_secrets", "running_shell", "show_error", "uninstall"]

_PACKAGE = str(Path(__file__).resolve().parents[1])  # .../sfnotebook
_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)
_MAGIC_RUNNERS = {"run_cell_magic", "run_line_magic"}
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]+@")
_MARK = "_sfnotebook_error_display"
# Where the secrets of the open connections come from (sfnotebook.connection registers its
# own; this module does not import it, the connection imports this one).
_SECRET_SOURCES: list[Callable[[], Iterable[Secret | None]]] = []


def running_shell() -> Any:
    """The running IPython shell, or ``None``; IPython is not imported if nobody imported it."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if callable(get_ipython) else None


def install(
    shell: Any = None, *, secrets: Callable[[], Iterable[Secret | None]] | None = None
) -> bool:
    """Show sfnotebook errors concisely in ``shell`` (default: the running IPython).

    ``secrets`` gives secret values to mask in ``%xmode Verbose`` output besides those in the
    traceback's frames (the connection module passes its open connections'). Idempotent. A shell that already has custom exception handlers of someone else keeps them
    (IPython holds one handler only): sfnotebook's errors then show as IPython shows any other.
    Returns whether the handler is installed.
    """
    if secrets is not None and secrets not in _SECRET_SOURCES:
        _SECRET_SOURCES.append(secrets)
    shell = shell if shell is not None else running_shell()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if getattr(shell, _MARK, False):
        return True
    if tuple(getattr(shell, "custom_exceptions", ())):
        return False
    shell.set_custom_exc((SfNotebookError,), show_error)
    setattr(shell, _MARK, True)
    return True


def uninstall(shell: Any = None) -> None:
    """Undo :func:`install` (``%unload_ext sfnotebook``)."""
    shell = shell if shell is not None else running_shell()
    if shell is not None and getattr(shell, _MARK, False):
        shell.set_custom_exc((), None)
        setattr(shell, _MARK, False)


def show_error(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> list[str]:
    """The custom exception handler: display the error as the module docstring says.

    Called by IPython as a method of the shell; returns the structured traceback it showed.
    """
    # sys.last_* for %debug and %tb, as IPython's own showtraceback sets them.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    formatter = shell.InteractiveTB
    mode = str(getattr(formatter, "mode", "Context"))
    if mode == "Verbose":
        stb = formatter.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        stb = [mask_secrets(part, tb) for part in stb]
    elif mode == "Minimal":
        stb = formatter.get_exception_only(etype, value)
    else:
        stb = _concise(formatter, etype, value, tb, tb_offset)
    shell._showtraceback(etype, value, stb)
    if getattr(shell, "call_pdb", False):
        shell.debugger(force=True)
    return list(stb)


def _concise(
    formatter: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None,
) -> list[str]:
    """The user's frames, then the error; the library's frames and the chain left out."""
    entries = list(_walk(tb))
    last_user = max((i for i, (frame, _, _) in enumerate(entries) if _is_user(frame)), default=-1)
    hidden = len(entries) - last_user - 1
    from_magic = hidden > 0 and entries[last_user + 1][0].f_code.co_name in _MAGIC_RUNNERS
    cause, context, suppress = value.__cause__, value.__context__, value.__suppress_context__
    value.__cause__, value.__suppress_context__ = None, True
    try:
        if from_magic or last_user < 0:
            stb = list(formatter.get_exception_only(etype, value))
        else:
            kept = _rebuild(entries[: last_user + 1])
            stb = list(formatter.structured_traceback(etype, value, kept, tb_offset=tb_offset))
    finally:
        value.__cause__, value.__context__ = cause, context
        value.__suppress_context__ = suppress
    if hidden > 0 and not from_magic:
        stb.append(
            f"({hidden} frame{'s' if hidden != 1 else ''} inside sfnotebook and its libraries "
            "not shown: %tb or %xmode Verbose shows them.)"
        )
    return stb


def _walk(tb: TracebackType | None) -> Iterator[tuple[FrameType, int, int]]:
    while tb is not None:
        yield tb.tb_frame, tb.tb_lasti, tb.tb_lineno
        tb = tb.tb_next


def _rebuild(entries: list[tuple[FrameType, int, int]]) -> TracebackType | None:
    """A traceback of ``entries`` only (frames are shared, not copied)."""
    kept: TracebackType | None = None
    for frame, lasti, lineno in reversed(entries):
        kept = TracebackType(kept, frame, lasti, lineno)
    return kept


def _is_user(frame: FrameType) -> bool:
    """A frame of the user's code: not sfnotebook's, not the standard library's or a package's."""
    filename = frame.f_code.co_filename
    if filename.startswith("<"):
        return True  # a cell (<ipython-input-...>) or code given to exec
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not path.startswith((_PACKAGE, *_LIBRARY_ROOTS))


def mask_secrets(text: str, tb: TracebackType | None = None) -> str:
    """``text`` with every secret value in play masked (see the module docstring)."""
    secrets: list[Secret | None] = list(_frame_secrets(tb))
    for source in _SECRET_SOURCES:
        secrets += list(source())
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", redact(text, secrets))


def _frame_secrets(tb: TracebackType | None) -> Iterator[Secret]:
    """Secrets held by the frames' locals, directly or one attribute down (settings, tokens)."""
    for frame, _, _ in _walk(tb):
        for value in list(frame.f_locals.values()):
            yield from _secrets_of(value)


def _secrets_of(value: object) -> Iterator[Secret]:
    if isinstance(value, Secret):
        yield value
        return
    for attribute in ("consumer_secret", "access_token", "settings", "_token"):
        inner = getattr(value, attribute, None) if _plain_object(value) else None
        if isinstance(inner, Secret):
            yield inner
        elif inner is not None and attribute in ("settings", "_token"):
            for name in ("consumer_secret", "access_token"):
                found = getattr(inner, name, None)
                if isinstance(found, Secret):
                    yield found


def _plain_object(value: object) -> bool:
    """Objects whose attributes can be read without running user code (no lazy proxies)."""
    module = type(value).__module__ or ""
    return module.startswith("sfnotebook")
