"""The hash of the JupyterLab extension's sources, which ``make labextension`` records.

The extension's source (``labextension/``: ``package.json``, ``package-lock.json``, ``lib/``) is
built into ``sfnotebook/labextension/`` and the build is committed, so installing sfnotebook
needs no Node.js. ``make labextension`` rebuilds it and records the sources' hash beside the
build (``--write``); a test compares the recorded hash with the sources', so a source change
committed without a rebuild fails the tests.

Usage::

    python -m tools.labextension_hash [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RECORD", "SOURCE", "main", "source_hash"]

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "labextension"
RECORD = ROOT / "sfnotebook" / "labextension" / "sources.sha256"


def _sources() -> list[Path]:
    files = [SOURCE / "package.json", SOURCE / "package-lock.json"]
    return files + sorted((SOURCE / "lib").glob("*.js"))


def source_hash() -> str:
    """sha256 over the sources' relative paths and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.relative_to(SOURCE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.labextension_hash")
    parser.add_argument("--write", action="store_true", help=f"record it in {RECORD.name}")
    args = parser.parse_args(argv)
    value = source_hash()
    if args.write:
        RECORD.write_text(value + "\n")
    print(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
