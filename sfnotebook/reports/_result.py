"""The result of ``org.report()``: detail rows, aggregates, and what fetching them cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from sfnotebook.reports.frames import pivot_matrix

__all__ = ["ReportResult"]


class ReportResult:
    """A report run fetched whole: the detail rows, the aggregates and what it cost.

    Behaves like its detail DataFrame for reading (``result["Amount"]``, ``result.head()``,
    ``len(result)``); ``result.df`` is the DataFrame itself.

    Attributes
    ----------
    details : pandas.DataFrame
        One row per detail row (see :func:`sfnotebook.reports.frames.report_details`).
    aggregates : pandas.DataFrame
        Groups, subtotals and grand total (see :func:`sfnotebook.reports.frames.report_aggregates`).
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
        details: pd.DataFrame,
        aggregates: pd.DataFrame,
        payload: Mapping[str, Any],
        runs: int,
        paged_on: str | None = None,
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
        self.groupings = list(aggregates.index.names) if self.format != "TABULAR" else []
        self.runs = runs
        self.paged_on = paged_on

    @property
    def df(self) -> pd.DataFrame:
        """The detail rows as a DataFrame."""
        return self.details

    @property
    def row_count(self) -> int:
        """Number of detail rows."""
        return len(self.details)

    def to_pandas(self) -> pd.DataFrame:
        """The detail rows as a DataFrame."""
        return self.details

    def pivot(self, aggregate: str | None = None, *, totals: bool = True) -> pd.DataFrame:
        """MATRIX reports: one aggregate laid out as Salesforce's grid (see ``pivot_matrix``)."""
        return pivot_matrix(self.aggregates, aggregate, totals=totals)

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
