"""The file where ``sfnotebook doctor`` keeps what it found about an org, read and amended.

``sfnotebook._doctor`` writes the whole report; the verbs only read a switch of its dialect
(``locator_offsets``: may a query-more call name any offset of a cursor?) and, when a query
learns the answer the hard way (its offsets were refused), amend that one finding so the next
kernel does not ask again. This module imports nothing of sfnotebook but the cache directory
(:mod:`sfnotebook._cachedir`), so the query path can use it without importing the doctor
(which imports the connection).

The file is JSON, ``{"format": 1, "org_id": ..., "findings": [{"key", "status", "summary",
"dialect", ...}, ...]}``, written atomically and readable by the user only (0600, dir 0700).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sfnotebook._cachedir import cache_root, write_private

__all__ = ["FORMAT", "cache_path", "dialect_switch", "note_switch"]

FORMAT = 1  # the cache file's layout; a file of another layout is ignored


def cache_path(org_id: str) -> Path:
    """Where the findings for ``org_id`` are kept."""
    if not org_id.isalnum():
        raise ValueError(f"not an org Id: {org_id!r}")
    return cache_root() / "doctor" / f"{org_id}.json"


def _read(org_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(cache_path(org_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if data.get("org_id") != org_id or not isinstance(data.get("findings"), list):
        return None
    return data


def dialect_switch(org_id: str, switch: str) -> str | None:
    """The value doctor settled for ``switch`` on this org (the last finding that set it)."""
    data = _read(org_id)
    value: str | None = None
    for finding in (data or {}).get("findings", ()):
        dialect = finding.get("dialect") if isinstance(finding, dict) else None
        if isinstance(dialect, dict) and isinstance(dialect.get(switch), str):
            value = dialect[switch]
    return value


def note_switch(org_id: str, key: str, switch: str, value: str, summary: str) -> bool:
    """Amend finding ``key`` of an existing cache file: ``switch`` is ``value`` (status "no").

    Only a file doctor already wrote is amended (no file: nothing is created, as the user
    never asked for one). Says whether the file was written.
    """
    data = _read(org_id)
    if data is None:
        return False
    for finding in data["findings"]:
        if isinstance(finding, dict) and finding.get("key") == key:
            if (finding.get("dialect") or {}).get(switch) == value:
                return False  # already says so
            finding["status"] = "no"
            finding["summary"] = summary
            finding["dialect"] = {**(finding.get("dialect") or {}), switch: value}
            break
    else:
        return False
    try:
        write_private(cache_path(org_id), json.dumps(data, indent=1))
    except OSError:
        return False  # a read-only cache: the answer is still kept by the connection
    return True
