"""sfnotebook: Salesforce SOQL, reports and Bulk API 2.0 results as complete, typed DataFrames.

>>> import sfnotebook
>>> org = sfnotebook.connect()                                   # doctest: +SKIP
>>> df = org.query("SELECT Id, Name, Account.Name FROM Contact")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from sfnotebook.connection import Connection, connect, get_default
from sfnotebook.errors import SfNotebookError

__all__ = [
    "Connection",
    "SfNotebookError",
    "__version__",
    "connect",
    "extract",
    "get_default",
    "load_ipython_extension",
    "login_panel",
    "query",
    "records_frame",
    "report",
    "report_aggregates",
    "report_details",
]


def query(soql: str, **options: Any) -> Any:
    """Run SOQL on the default connection (the last ``connect()`` or the login panel's)."""
    return get_default().query(soql, **options)


def report(report: str, **options: Any) -> Any:
    """Run a report on the default connection."""
    return get_default().report(report, **options)


def extract(soql: str, **options: Any) -> Any:
    """Run a Bulk API 2.0 extract on the default connection."""
    return get_default().extract(soql, **options)


def records_frame(records: Any, **options: Any) -> Any:
    """Records as Salesforce returns them -> DataFrame; see :func:`sfnotebook.soql.records.records_frame`."""
    from sfnotebook.soql.records import records_frame as convert

    return convert(records, **options)


def report_details(payload: Any, **options: Any) -> Any:
    """One report-run JSON -> detail rows; see :func:`sfnotebook.reports.frames.report_details`."""
    from sfnotebook.reports.frames import report_details as convert

    return convert(payload, **options)


def report_aggregates(payload: Any, **options: Any) -> Any:
    """One report-run JSON -> aggregates; see :func:`sfnotebook.reports.frames.report_aggregates`."""
    from sfnotebook.reports.frames import report_aggregates as convert

    return convert(payload, **options)


def login_panel(**options: Any) -> Any:
    """The ipywidgets login panel; see :class:`sfnotebook.notebook.widgets.LoginPanel`."""
    from sfnotebook.notebook.widgets import login_panel as make

    return make(**options)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sfnotebook``: registers ``%%soql``, ``%soql`` and ``%sfreport``."""
    from sfnotebook.notebook.magics import load_ipython_extension as load

    load(ipython)
