"""The report browser: find a report, see how it is built, try filters, run it, copy the call.

An ipywidgets panel over the public verbs only (``org.reports()``, ``org.describe_report()``,
``org.report()``); it holds no HTTP code. Its widgets hold report names, column labels, filter
values and result previews, never the connection: widget state is saved with the notebook, and
the connection's secret and token stay in the :class:`~sfnotebook.Connection`, which the
browser keeps in a plain Python attribute.

The "Show code" button writes the ``org.report(...)`` call of the last run (or of the current
selection) into a text area to copy into a cell, so the notebook stays reproducible.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from sfnotebook import connection as _connection
from sfnotebook.display import error_html, progress_html, report_html
from sfnotebook.errors import SfNotebookError
from sfnotebook.notebook import _browser_model as model

if TYPE_CHECKING:
    from sfnotebook.connection import Connection

__all__ = ["FilterRow", "ReportBrowser", "report_browser"]

_WIDE = {"width": "34em"}


class FilterRow(w.HBox):  # type: ignore[misc]
    """One filter for the run: column, operator, value, and a button that removes it."""

    def __init__(self, describe: Mapping[str, Any], on_remove: Any) -> None:
        self._describe = describe
        self._types = {api: data_type for _, api, data_type in model.filterable_columns(describe)}
        self.column = w.Dropdown(
            options=[
                (f"{label} ({api})", api) for label, api, _ in model.filterable_columns(describe)
            ],
            description="Column",
            layout={"width": "22em"},
        )
        self.operator = w.Dropdown(description="Operator", layout={"width": "16em"})
        self.value = w.Text(
            description="Value",
            placeholder="blank; commas separate values",
            layout={"width": "20em"},
        )
        self.remove = w.Button(icon="trash", tooltip="Remove this filter", layout={"width": "3em"})
        self.remove.on_click(lambda _b: on_remove(self))
        self.column.observe(lambda _c: self._operators(), names="value")
        self._operators()
        super().__init__([self.column, self.operator, self.value, self.remove])
        self.add_class("sfnotebook-filter-row")

    def _operators(self) -> None:
        data_type = self._types.get(self.column.value or "", "string")
        self.operator.options = model.operators_for(self._describe, data_type)

    def spec(self) -> tuple[str, str, object]:
        """The filter as ``org.report`` takes it: ``(column, operator, value)``."""
        data_type = self._types.get(self.column.value, "string")
        return (
            self.column.value,
            self.operator.value,
            model.parse_value(self.value.value, data_type),
        )


class ReportBrowser(w.VBox):  # type: ignore[misc]
    """Browse the org's reports: folders, search, the report's make-up, filters, run, code.

    Parameters
    ----------
    org : sfnotebook.Connection
        The connection to browse (its ``reports``, ``describe_report`` and ``report`` verbs).
    variable : str
        The name of the connection in the generated code (``"org"``).
    preview_rows : int
        Detail rows and aggregate rows shown after a run.
    """

    def __init__(self, org: Connection, *, variable: str = "org", preview_rows: int = 10) -> None:
        self._org = org
        self._variable = variable
        self._preview_rows = preview_rows
        self._describes: dict[str, Mapping[str, Any]] = {}
        listed = org.reports()
        # Missing folders or formats are <NA> in the frame: plain None here (NA has no truth).
        self._catalog = listed.astype(object).where(listed.notna(), None).to_dict("records")
        self.result: Any = None  # the last run's ReportResult
        self.last_call = ""  # the code of the last run

        self.folder = w.Dropdown(options=model.folders(self._catalog), description="Folder")
        self.search = w.Text(description="Search", placeholder="words of the report's name")
        self.reports = w.Select(options=[], description="Reports", rows=10, layout=_WIDE)
        self.details = w.HTML(value=self._hint("Select a report to see its columns and filters."))
        self.filter_rows = w.VBox([])
        self.add_filter = w.Button(description="Add filter", icon="plus", disabled=True)
        self.run_button = w.Button(
            description="Run", icon="play", button_style="primary", disabled=True
        )
        self.code_button = w.Button(description="Show code", icon="code", disabled=True)
        self.status = w.HTML(value="")
        self.preview = w.HTML(value="")
        self.code = w.Textarea(
            value="",
            placeholder="the org.report(...) call appears here",
            layout={"width": "60em", "height": "8em", "display": "none"},
        )
        self.folder.observe(lambda _c: self._list(), names="value")
        self.search.observe(lambda _c: self._list(), names="value")
        self.reports.observe(lambda _c: self._select(), names="value")
        self.add_filter.on_click(lambda _b: self._add_row())
        self.run_button.on_click(lambda _b: self.run())
        self.code_button.on_click(lambda _b: self.show_code())
        super().__init__(
            [
                w.HTML("<b>Report browser</b> (runs reports with org.report; nothing is saved)"),
                w.HBox([self.folder, self.search]),
                w.HBox([self.reports, self.details]),
                w.HTML(self._hint("Filters for this run, added to the report's own (AND):")),
                self.filter_rows,
                w.HBox([self.add_filter, self.run_button, self.code_button]),
                self.status,
                self.code,
                self.preview,
            ]
        )
        self.add_class("sfnotebook-report-browser")
        for widget, name in (
            (self.folder, "folder"),
            (self.search, "search"),
            (self.reports, "reports"),
            (self.details, "details"),
            (self.add_filter, "add-filter"),
            (self.run_button, "run"),
            (self.code_button, "show-code"),
            (self.status, "browser-status"),
            (self.preview, "preview"),
            (self.code, "code"),
        ):
            widget.add_class(f"sfnotebook-{name}")
        self._list()

    # -- public -------------------------------------------------------------------------------
    @property
    def selected(self) -> str | None:
        """The selected report's Id, or None."""
        return self.reports.value or None

    def select(self, report: str) -> None:
        """Select a report by Id or exact name (what clicking it in the list does)."""
        found = [r["id"] for r in self._catalog if report in (r["id"], r["name"])]
        if len(found) != 1:
            raise SfNotebookError(
                f"{len(found)} listed reports match {report!r}; pass the report's Id."
            )
        self.folder.value, self.search.value = model.ALL_FOLDERS, ""
        self.reports.value = found[0]

    def add_filter_row(self, column: str, operator: str, value: str = "") -> FilterRow:
        """Add a filter for the run (what "Add filter" and typing into it do)."""
        row = self._add_row()
        row.column.value = column
        row.operator.value = operator
        row.value.value = value
        return row

    def filters(self) -> list[tuple[str, str, object]]:
        """The filters of the run, as ``org.report(filters=...)`` takes them."""
        return [row.spec() for row in self.filter_rows.children]

    def run(self) -> Any:
        """Run the selected report with the filters, show a preview; the ReportResult or None."""
        report_id = self.selected
        if report_id is None:
            return None
        filters = self.filters()
        self.status.value = progress_html(f"Running {self._name(report_id)!r} ...")
        try:
            result = self._org.report(report_id, filters=filters or None, progress=False)
        except SfNotebookError as exc:
            self.status.value = error_html(str(exc), title="The report did not run")
            return None
        except Exception as exc:  # not ours: show it, never a traceback in the panel
            self.status.value = error_html(f"{exc.__class__.__name__}: {exc}", title="Error")
            return None
        self.result = result
        self.last_call = self._call(report_id, filters)
        self.status.value = self._hint(
            f"{result.row_count:,} rows in {result.runs} run{'s' * (result.runs != 1)}; "
            "'Show code' gives the call."
        )
        self.preview.value = self._preview(result)
        return result

    def show_code(self) -> str:
        """Put the ``org.report(...)`` call into the text area (that of the last run, if any)."""
        report_id = self.selected
        if report_id is None:
            return ""
        text = self.last_call or self._call(report_id, self.filters())
        self.code.value = text
        self.code.layout.display = ""
        return text

    # -- internals ----------------------------------------------------------------------------
    def _list(self) -> None:
        current = self.reports.value
        options = model.matching_reports(self._catalog, self.folder.value, self.search.value)
        self.reports.options = options
        ids = [i for _, i in options]
        self.reports.value = current if current in ids else None

    def _select(self) -> None:
        self.filter_rows.children = ()
        self.preview.value = self.status.value = ""
        self.last_call = ""
        self.result = None
        self.code.value, self.code.layout.display = "", "none"
        report_id = self.selected
        for button in (self.add_filter, self.run_button, self.code_button):
            button.disabled = report_id is None
        if report_id is None:
            self.details.value = self._hint("Select a report to see its columns and filters.")
            return
        try:
            describe = self._describe(report_id)
        except SfNotebookError as exc:
            self.details.value = error_html(str(exc), title="Could not describe the report")
            return
        self.details.value = model.describe_html(describe)

    def _describe(self, report_id: str) -> Mapping[str, Any]:
        if report_id not in self._describes:
            self._describes[report_id] = self._org.describe_report(report_id)
        return self._describes[report_id]

    def _add_row(self) -> FilterRow:
        report_id = self.selected
        if report_id is None:
            raise SfNotebookError("Select a report before adding a filter.")
        row = FilterRow(self._describe(report_id), on_remove=self._remove_row)
        self.filter_rows.children = (*self.filter_rows.children, row)
        return row

    def _remove_row(self, row: FilterRow) -> None:
        self.filter_rows.children = tuple(r for r in self.filter_rows.children if r is not row)

    def _name(self, report_id: str) -> str:
        return next((str(r["name"]) for r in self._catalog if r["id"] == report_id), report_id)

    def _call(self, report_id: str, filters: list[tuple[str, str, object]]) -> str:
        """By name when the name is unique (readable), else by Id with the name as a comment;
        filters by label and symbol, as the results name things."""
        name = self._name(report_id)
        filters = model.spoken_filters(self._describe(report_id), filters)
        unique = sum(1 for r in self._catalog if r["name"] == name) == 1
        if unique:
            return model.report_call(self._variable, name, filters)
        folder = next((r["folder"] for r in self._catalog if r["id"] == report_id), None)
        comment = f"{name} ({folder})" if folder else name
        return model.report_call(self._variable, report_id, filters, comment=comment)

    def _preview(self, result: Any) -> str:
        out = report_html(result, max_rows=self._preview_rows)
        aggregates = result.aggregates
        if not hasattr(aggregates, "to_html"):
            aggregates = aggregates.to_pandas()
        head = aggregates.head(self._preview_rows)
        shown = f"first {len(head):,} of {len(aggregates):,}" if len(aggregates) > len(head) else ""
        return (
            out
            + f'<div style="font-weight:600;margin-top:0.4em">Aggregates {shown}</div>'
            + head.to_html(border=0, na_rep="", escape=True)
        )

    @staticmethod
    def _hint(text: str) -> str:
        return f'<div style="color:#555">{html.escape(text)}</div>'

    def __repr__(self) -> str:
        return f"<sfnotebook.ReportBrowser {len(self._catalog)} reports, selected={self.selected}>"


def report_browser(
    org: Connection | None = None, *, variable: str = "org", preview_rows: int = 10
) -> ReportBrowser:
    """Browse the reports of ``org`` (default: the default connection); display it in a cell.

    Parameters
    ----------
    org : sfnotebook.Connection, optional
        The connection to browse; the default connection (``sfnotebook.get_default()``) when omitted.
    variable : str
        The connection's name in the generated ``org.report(...)`` call.
    preview_rows : int
        Rows shown in the preview after a run.

    Examples
    --------
    >>> browser = sfnotebook.report_browser(org)  # doctest: +SKIP
    >>> browser                                   # doctest: +SKIP
    """
    return ReportBrowser(
        org if org is not None else _connection.get_default(),
        variable=variable,
        preview_rows=preview_rows,
    )
