"""Cache entries on disk: one private directory per org and user, one manifest per request.

Layout, under :func:`sfnotebook._cachedir.cache_root`::

    results/<org Id>-<user Id>/            0700, only this org and user's entries
        <key>.json                          0600, the manifest: what, when, which parts
        <key>.<write token>.<n>.parquet     0600, one file per frame of the result

Parts are written first, the manifest last (atomically, with ``os.replace``): a reader sees the
old entry or the new one, never a mix, and an interrupted write leaves the old one readable.
Each write names its parts with a fresh token, so two kernels writing one key never mix their
parts either; the parts of the replaced manifest are removed after it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfnotebook._cachedir import cache_root, private_dir, write_private
from sfnotebook._rerun._key import FORMAT

__all__ = ["Entry", "Store", "clear"]

log = logging.getLogger("sfnotebook")

_RESULTS = "results"


@dataclass
class Entry:
    """A cached result read back: its parts' bytes and meta, extras and when it was saved."""

    manifest: dict[str, Any]
    parts: dict[str, tuple[bytes, dict[str, Any]]]

    @property
    def age_s(self) -> float:
        return max(time.time() - float(self.manifest["saved_at"]), 0.0)


def _owner_dir_name(org_id: str, user_id: str) -> str:
    if not (org_id.isalnum() and user_id.isalnum()):
        raise ValueError(f"not an org and user Id: {org_id!r}, {user_id!r}")
    return f"{org_id}-{user_id}"


class Store:
    """The entries of one org and user."""

    def __init__(self, org_id: str, user_id: str) -> None:
        self.org_id = org_id
        self.user_id = user_id
        self._name = _owner_dir_name(org_id, user_id)

    @property
    def folder(self) -> Path:
        """The directory (created 0700 on first use)."""
        return private_dir(_RESULTS, self._name)

    def get(self, key: str, max_age: float) -> Entry | None:
        """The entry of ``key`` if there is one no older than ``max_age`` seconds, else None.

        A damaged, foreign or unreadable entry is as if there were none (it is fetched again).
        """
        path = cache_root() / _RESULTS / self._name / f"{key}.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if (
                manifest.get("format") != FORMAT
                or manifest.get("key") != key
                or manifest.get("org_id") != self.org_id
                or manifest.get("user_id") != self.user_id
            ):
                return None
            entry = Entry(manifest, {})
            if entry.age_s > max_age:
                return None
            for part in manifest["parts"]:
                data = (path.parent / part["file"]).read_bytes()
                entry.parts[part["name"]] = (data, part["meta"])
            return entry
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("cache entry %s unreadable (%s): fetching again", key[:12], exc)
            return None

    def put(
        self,
        key: str,
        *,
        parts: dict[str, tuple[bytes, dict[str, Any]]],
        extra: dict[str, Any],
        info: dict[str, Any],
    ) -> None:
        """Write an entry: its parts, then its manifest (atomically), then drop the old parts."""
        folder = self.folder
        token = uuid.uuid4().hex[:12]
        listed = []
        for n, (name, (data, meta)) in enumerate(parts.items()):
            file = f"{key}.{token}.{n}.parquet"
            write_private(folder / file, data)
            listed.append({"name": name, "file": file, "meta": meta})
        manifest = {
            "format": FORMAT,
            "key": key,
            "org_id": self.org_id,
            "user_id": self.user_id,
            "saved_at": time.time(),
            "parts": listed,
            "extra": extra,
            "info": info,
        }
        write_private(folder / f"{key}.json", json.dumps(manifest))
        for stale in folder.glob(f"{key}.*.parquet"):
            if not stale.name.startswith(f"{key}.{token}."):
                stale.unlink(missing_ok=True)

    def clear(self) -> int:
        """Remove every entry of this org and user; the number of entries removed."""
        return _remove(cache_root() / _RESULTS / self._name)


def clear(org_id: str | None = None, user_id: str | None = None) -> int:
    """Remove cached results: one org and user's, or (no Ids) everyone's. Entries removed."""
    if org_id is not None and user_id is not None:
        return Store(org_id, user_id).clear()
    root = cache_root() / _RESULTS
    if not root.is_dir():
        return 0
    return sum(_remove(folder) for folder in root.iterdir() if folder.is_dir())


def _remove(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    entries = sum(1 for _ in folder.glob("*.json"))
    shutil.rmtree(folder)
    return entries
