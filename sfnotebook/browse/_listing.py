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
        table = _shown(pd.DataFrame(self)).to_html(border=0, na_rep="", escape=True, index=False)
        return listing_html(getattr(self, "caption", ""), table, note=getattr(self, "note", None))

    def __repr__(self) -> str:
        body = repr(pd.DataFrame(self))
        caption = getattr(self, "caption", "")
        note = getattr(self, "note", None)
        return "\n".join(part for part in (caption, body, note) if part)


register_accessor()  # df.sf on these frames too (the browse verbs load no other wing)


def _cell(value: object) -> object:
    """One shown cell: blank for missing, ``1,234`` for whole numbers, lists as ``a, b``."""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a notebook shows, as text pandas renders without ``<NA>`` or ``[]``."""
    parts = [frame]
    if len(frame) > _MAX_ROWS:  # the first and last rows, as pandas shows long frames
        half = _MAX_ROWS // 2
        parts = [frame.head(half), frame.tail(half)]
    shown = [
        pd.DataFrame(
            {i: part.iloc[:, i].astype(object).map(_cell) for i in range(part.shape[1])}
        ).set_axis(part.columns, axis=1)
        for part in parts
    ]
    if len(shown) == 2:
        gap = pd.DataFrame([["…"] * frame.shape[1]], columns=frame.columns)
        shown.insert(1, gap)
    return pd.concat(shown, ignore_index=True) if len(shown) > 1 else shown[0]


def listing(frame: pd.DataFrame, caption: str, note: str | None = None) -> Listing:
    """``frame`` shown with ``caption`` (and ``note`` under it)."""
    out = Listing(frame)
    out.caption = caption
    out.note = note
    return out
