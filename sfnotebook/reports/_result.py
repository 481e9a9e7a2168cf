"""The result of ``org.report()``: detail rows, aggregates, and what fetching them cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from sfnotebook.reports.frames import grouping_names, report_aggregates
from sfnotebook.reports.pivot import pivot_matrix

if TYPE_CHECKING:
    import os
    from pathlib import Path

    import pandas as pd

__all__ = ["ReportResult"]


class ReportResult:
    """A report run fetched whole: the detail rows, the aggregates and what it cost.

    Behaves like its detail DataFrame for reading (``result["Amount"]``, ``result.head()``,
    ``len(result)``); ``result.df`` is the DataFrame itself.

    Attributes
    ----------
    details : pandas.DataFrame
        One row per detail row (see :func:`sfnotebook.reports.frames.report_details`); a polars
        DataFrame or a ``pyarrow.Table`` when the report ran with ``output="polars"``/``"arrow"``.
    aggregates : pandas.DataFrame
        Groups, subtotals and grand total (see :func:`sfnotebook.reports.frames.report_aggregates`),
        in the same library as ``details`` (grouping levels as leading columns outside pandas).
    name, id, format : str
        The report's name, 18-character Id and format (TABULAR, SUMMARY, MATRIX).
    groupings : list of str
        Grouping labels, down levels then across levels.
    runs : int
        Report runs made (one per 2,000 detail rows, plus one or two).
    metadata : dict
        The ``reportMetadata`` of the first run (the definition, with any filter overrides).
    paged_on : str or None
        The column keyset paging used, or None when one run sufficed.
    """

    def __init__(
        self,
        *,
        details: Any,
        aggregates: Any,
        payload: Mapping[str, Any],
        runs: int,
        paged_on: str | None = None,
        column_names: Literal["label", "api"] = "label",
    ) -> None:
        metadata = dict(payload.get("reportMetadata") or {})
        attributes = payload.get("attributes") or {}
        self.details = details
        self.aggregates = aggregates
        self.metadata = metadata
        self.extended_metadata = dict(payload.get("reportExtendedMetadata") or {})
        self.id = str(metadata.get("id") or attributes.get("reportId") or "")
        self.name = str(metadata.get("name") or attributes.get("reportName") or "")
        self.format = str(metadata.get("reportFormat") or "TABULAR").upper()
        self.groupings = grouping_names(payload, column_names) if self.format != "TABULAR" else []
        self.runs = runs
        self.paged_on = paged_on
        self._payload = payload
        self._column_names = column_names

    @property
    def df(self) -> Any:
        """The detail rows as a DataFrame."""
        return self.details

    @property
    def row_count(self) -> int:
        """Number of detail rows."""
        return len(self.details)

    def to_pandas(self) -> pd.DataFrame:
        """The detail rows as a pandas DataFrame (whatever ``output`` the report ran with)."""
        details = self.details
        if type(details).__module__.startswith("pandas"):
            return details
        return details.to_pandas()

    def pivot(self, aggregate: str | None = None, *, totals: bool = True) -> pd.DataFrame:
        """MATRIX reports: one aggregate laid out as Salesforce's grid (see ``pivot_matrix``).

        The grid is a pandas frame (its rows and columns are indexes), whatever ``output``.
        """
        aggregates = self.aggregates
        if not isinstance(getattr(aggregates, "attrs", None), dict):
            aggregates = report_aggregates(self._payload, column_names=self._column_names)
        return pivot_matrix(aggregates, aggregate, totals=totals)

    def to_excel(self, path: str | os.PathLike[str], *, tz: str | None = "UTC") -> Path:
        """:func:`sfnotebook.to_excel` of this result: a Details and an Aggregates sheet, naive
        date-times in ``tz`` (pandas' own ``to_excel`` refuses time-zone-aware ones)."""
        from sfnotebook.export import to_excel

        return to_excel(self, path, tz=tz)

    def to_csv(self, path: str | os.PathLike[str], *, tz: str | None = "UTC") -> Path:
        """:func:`sfnotebook.to_csv` of the detail rows, naive date-times in ``tz``."""
        from sfnotebook.export import to_csv

        return to_csv(self, path, tz=tz)

    def __len__(self) -> int:
        return len(self.details)

    def __getitem__(self, key: Any) -> Any:
        return self.details[key]

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the result lacks: read them from the detail frame.
        if name.startswith("_") or "details" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["details"], name)

    def __repr__(self) -> str:
        return (
            f"<ReportResult {self.name!r} ({self.format}): {self.row_count:,} rows x "
            f"{len(self.details.columns)} columns, {self.runs} run{'s' * (self.runs != 1)}>"
        )

    def _repr_html_(self) -> str:
        from sfnotebook.display import report_html

        return report_html(self)
