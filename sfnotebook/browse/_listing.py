"""The frames ``org.objects()``, ``org.fields()``, ``org.picklist()`` and ``org.limits()`` return.

A :class:`Listing` is a pandas DataFrame that a notebook shows with a caption ("Account: 58
fields") and a note on how to read more; anything computed from it (a filter, ``head()``, a
column) is a plain DataFrame again (``_constructor``), so nothing downstream sees a subclass.
"""

from __future__ import annotations

import pandas as pd

from sfnotebook.display import listing_html
from sfnotebook.export import register_accessor

__all__ = ["Listing", "listing"]

_MAX_ROWS = 60  # rows shown in the notebook (first and last 30 beyond that), as pandas does


class Listing(pd.DataFrame):
    """A DataFrame with a caption and a note for its notebook display."""

    _metadata = ["caption", "note"]  # noqa: RUF012 - pandas' subclassing protocol
    caption: str
    note: str | None

    @property
    def _constructor(self) -> type[pd.DataFrame]:  # type: ignore[override]
        # Derived frames are plain DataFrames: a caption saying "58 fields" must not follow a
        # filter that kept 3 of them.
        return pd.DataFrame

    def _repr_html_(self) -> str | None:
        table = pd.DataFrame(self).to_html(
            max_rows=_MAX_ROWS, border=0, na_rep="", escape=True, index=False
        )
        return listing_html(getattr(self, "caption", ""), table, note=getattr(self, "note", None))

    def __repr__(self) -> str:
        body = repr(pd.DataFrame(self))
        caption = getattr(self, "caption", "")
        note = getattr(self, "note", None)
        return "\n".join(part for part in (caption, body, note) if part)


register_accessor()  # df.sf on these frames too (the browse verbs load no other wing)


def listing(frame: pd.DataFrame, caption: str, note: str | None = None) -> Listing:
    """``frame`` shown with ``caption`` (and ``note`` under it)."""
    out = Listing(frame)
    out.caption = caption
    out.note = note
    return out
