"""The result of ``org.report()``: detail rows, aggregates, and what fetching them cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from sfnotebook.reports import charts
from sfnotebook.reports.frames import grouping_names, relabel_empty, report_aggregates
from sfnotebook.reports.pivot import pivot_matrix

if TYPE_CHECKING:
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
    info : dict
        What this result is (see :mod:`sfnotebook._meta`): the report asked for, rows, runs,
        API calls, elapsed seconds, org, user, when it was fetched and whether from the cache;
        also in ``details.attrs["sfnotebook"]``.
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
        empty_label: str | None = None,
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
        self._empty_label = empty_label
        self.info: dict[str, Any] = {}

    def _cache_parts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The frames and plain data the rerun cache keeps (:mod:`sfnotebook._rerun`)."""
        frames = {"details": self.details, "aggregates": self.aggregates}
        extra = {
            "payload": self._payload,
            "runs": self.runs,
            "paged_on": self.paged_on,
            "column_names": self._column_names,
            "empty_label": self._empty_label,
        }
        return frames, extra

    @classmethod
    def _from_cache_parts(cls, frames: Mapping[str, Any], extra: Mapping[str, Any]) -> ReportResult:
        """The result :meth:`_cache_parts` took apart."""
        return cls(
            details=frames["details"],
            aggregates=frames["aggregates"],
            payload=extra["payload"],
            runs=int(extra["runs"]),
            paged_on=extra.get("paged_on"),
            column_names=extra.get("column_names") or "label",
            empty_label=extra.get("empty_label"),
        )

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

    def _pandas_aggregates(self, empty_label: str | None = None) -> pd.DataFrame:
        """The aggregates as pandas (rebuilt from the payload for polars or Arrow output)."""
        aggregates = self.aggregates
        if not isinstance(getattr(aggregates, "attrs", None), dict):
            aggregates = report_aggregates(
                self._payload, column_names=self._column_names, empty_label=self._empty_label
            )
        return relabel_empty(aggregates, empty_label)

    def pivot(
        self,
        aggregate: str | None = None,
        *,
        totals: bool = True,
        empty_label: str | None = None,
    ) -> pd.DataFrame:
        """MATRIX reports: one aggregate laid out as Salesforce's grid (see ``pivot_matrix``).

        The grid is a pandas frame (its rows and columns are indexes), whatever ``output``.
        """
        return pivot_matrix(self._pandas_aggregates(empty_label), aggregate, totals=totals)

    def level(
        self, level: int | str = 0, *, value: str | None = None, empty_label: str | None = None
    ) -> pd.DataFrame | pd.Series:
        """One grouping level's groups without subtotals, ready to chart (``summary_level``).

        >>> result.level("Stage", value="Sum of Amount").plot.barh()  # doctest: +SKIP
        """
        return charts.summary_level(self._pandas_aggregates(empty_label), level, value=value)

    def matrix_level(
        self,
        down: int | str = 0,
        across: int | str = 0,
        *,
        value: str | None = None,
        empty_label: str | None = None,
    ) -> pd.DataFrame:
        """MATRIX reports: one down level by one across level, without totals (``matrix_level``)."""
        return charts.matrix_level(self._pandas_aggregates(empty_label), down, across, value=value)

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
