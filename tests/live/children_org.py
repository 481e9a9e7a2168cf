"""A demo org whose accounts have hundreds of contacts each, so child subquery results page.

No account of the default dataset has more than a few dozen contacts; this org serves a small
dataset of two accounts with about 580 contacts each instead, past either ``child_batch`` of
the dialect (199 or 499 child rows on a parent page).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.data import database as data

SIZES: dict[str, int] = {
    "opportunities": 300,
    "accounts": 2,
    "contacts": 1200,
    "users": 5,
    "cases": 10,
    "tasks": 20,
}


@contextlib.contextmanager
def children_org(folder: Path, **options: Any) -> Iterator[DemoOrg]:
    """A running demo org (thread mode) serving the small dataset, built once in ``folder``."""
    with DemoOrg(opportunities=1_000, **options) as demo:
        server = demo.server
        assert server is not None
        small = data.Database(data.ensure_database(directory=folder, **SIZES))
        server.org.database = small
        try:
            yield demo
        finally:
            small.close()
