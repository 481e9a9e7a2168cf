"""The demo org's shared state, handed to every feature module's ``register``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["API_VERSIONS", "LATEST_API_VERSION", "OrgState"]

# What GET /services/data/ lists, oldest first (31.0 is the oldest version still supported).
API_VERSIONS: tuple[str, ...] = tuple(f"{v}.0" for v in range(31, 69))
LATEST_API_VERSION = API_VERSIONS[-1]


@dataclass
class OrgState:
    """Everything a request handler may need.

    ``database`` is a :class:`sfnotebook_demo.data.database.Database` (per-thread SQLite connections).
    ``base_url`` is ``https://127.0.0.1:<port>``, known once the server is bound.
    ``features`` is a scratch space where each feature module keeps its own state under its
    own key (query cursors, bulk jobs, report instances).
    """

    database: Any
    org_id: str
    base_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    features: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def feature(self, key: str, factory: Any) -> Any:
        """Get (or create with ``factory()``) the state a feature module keeps under ``key``."""
        with self.lock:
            if key not in self.features:
                self.features[key] = factory()
            return self.features[key]
