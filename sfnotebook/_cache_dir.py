"""The user's sfnotebook cache folder, and private files in it: one rule for every cache.

The folder is ``$SFNOTEBOOK_CACHE_DIR``, else ``$XDG_CACHE_HOME/sfnotebook``, else
``~/.cache/sfnotebook``. What sfnotebook keeps there (``sfnotebook doctor``'s findings, object
describes) names the org and its fields, so every folder it makes is 0700 and every file 0600,
written atomically: a reader sees the old file or the new one, never half of one, and a crash
mid-write leaves no file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["cache_root", "write_private"]


def cache_root() -> Path:
    """The sfnotebook cache folder (not created here)."""
    base = os.environ.get("SFNOTEBOOK_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "sfnotebook"
    )
    return Path(base)


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the user only (0600, folders 0700).

    Folders made on the way are 0700 (``mkdir``'s mode is masked by the umask, so it is set
    again); an existing file is replaced by a rename, never truncated in place.
    """
    parent = path.parent
    made = [p for p in (parent, *parent.parents) if not p.exists()]
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in made:
        os.chmod(folder, 0o700)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
