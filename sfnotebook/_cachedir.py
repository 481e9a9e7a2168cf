"""The user's sfnotebook cache directory, and private atomic writes into it.

One place decides where sfnotebook keeps what it remembers between sessions (doctor findings,
cached results): ``$SFNOTEBOOK_CACHE_DIR``, else ``$XDG_CACHE_HOME/sfnotebook``, else
``~/.cache/sfnotebook`` (the XDG base-directory rule). Everything under it is the user's alone:
directories are created 0700 and files written 0600, atomically (a temporary file in the same
directory, then ``os.replace``), so a reader never sees half a file and an interrupted write
never destroys the previous one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["cache_root", "private_dir", "write_private"]


def cache_root() -> Path:
    """The base cache directory (not created)."""
    base = os.environ.get("SFNOTEBOOK_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "sfnotebook"
    )
    return Path(base)


def private_dir(*parts: str) -> Path:
    """``cache_root()/parts...``, created with mode 0700 (each level this call creates).

    Directories this call creates are 0700 (parents too, whatever the umask); an existing
    one keeps its mode except the last level, which is tightened to 0700: it is ours, and it
    holds data from the user's org.
    """
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part:
            raise ValueError(f"not a cache directory name: {part!r}")
    path = cache_root()
    _make_private(path, tighten=False)
    for part in parts:
        path = path / part
        _make_private(path, tighten=part == parts[-1])
    return path


def _make_private(path: Path, *, tighten: bool) -> None:
    """Create ``path`` (and missing parents) 0700; ``tighten``: make an existing one 0700 too."""
    if not path.exists():
        if not path.parent.exists():
            _make_private(path.parent, tighten=False)
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            path.mkdir(mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    elif tighten:
        os.chmod(path, 0o700)


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically, readable by the user only (0600, dir 0700)."""
    if not path.parent.exists():
        _make_private(path.parent, tighten=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o600)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
