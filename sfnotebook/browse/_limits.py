"""``org.limits()`` as a frame: name, max, remaining, used, used_pct (from ``/limits``)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sfnotebook.browse._listing import Listing, listing

__all__ = ["limits_frame"]


def limits_frame(raw: Mapping[str, Mapping[str, int]]) -> Listing:
    """One row per limit, in Salesforce's order; ``used_pct`` is NA where the max is 0."""
    names = list(raw)
    most = [raw[n]["Max"] for n in names]
    left = [raw[n]["Remaining"] for n in names]
    used = [m - r for m, r in zip(most, left, strict=True)]
    frame = pd.DataFrame(
        {
            "name": pd.array(names, dtype="string"),
            "max": pd.array(most, dtype="Int64"),
            "remaining": pd.array(left, dtype="Int64"),
            "used": pd.array(used, dtype="Int64"),
            "used_pct": pd.array(
                [round(100 * u / m, 2) if m else None for u, m in zip(used, most, strict=True)],
                dtype="Float64",
            ),
        }
    )
    caption = f"Limits: {len(frame):,}"
    api = raw.get("DailyApiRequests")
    if api:
        spent = api["Max"] - api["Remaining"]
        caption += f" (API requests today: {spent:,} of {api['Max']:,})"
    note = "org.limits(as_dict=True) gives Salesforce's {name: {'Max', 'Remaining'}}"
    return listing(frame, caption, note)
