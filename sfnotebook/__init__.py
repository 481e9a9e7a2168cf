"""sfnotebook: Salesforce SOQL, reports and Bulk API 2.0 results as complete, typed DataFrames.

>>> import sfnotebook
>>> org = sfnotebook.connect()                                   # doctest: +SKIP
>>> df = org.query("SELECT Id, Name, Account.Name FROM Contact")  # doctest: +SKIP

``import sfnotebook`` is light (no pandas, IPython or simple-salesforce): the verbs and
converters below are imported from their wing on first use, each with its own full signature
and docstring (``help(sfnotebook.query)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from sfnotebook._api import OrgApi
from sfnotebook._version import __version__
from sfnotebook.connection import Connection, _wing, connect, get_default, use
from sfnotebook.errors import SfNotebookError

if TYPE_CHECKING:
    from sfnotebook import bulk, dashboards, ingest, reports, soql
    from sfnotebook._doctor import doctor
    from sfnotebook._rerun import clear_cache
    from sfnotebook.notebook.magics import load_ipython_extension
    from sfnotebook.notebook.report_browser import report_browser
    from sfnotebook.notebook.widgets import login_panel
    from sfnotebook.reports.frames import report_aggregates, report_details
    from sfnotebook.reports.pivot import pivot_matrix
    from sfnotebook.soql.records import records_frame

__all__ = [
    "Connection",
    "SfNotebookError",
    "__version__",
    "clear_cache",
    "connect",
    "dashboard",
    "delete",
    "doctor",
    "extract",
    "get_default",
    "insert",
    "load_ipython_extension",
    "login_panel",
    "pivot_matrix",
    "query",
    "records_frame",
    "report",
    "report_aggregates",
    "report_browser",
    "report_details",
    "update",
    "upsert",
    "use",
]

P = ParamSpec("P")
R = TypeVar("R")


def _on_default(verb: Callable[Concatenate[OrgApi, P], R]) -> Callable[P, R]:
    """``verb`` on the default connection: same keywords, same docstring, no connection argument."""

    def on_default(*args: P.args, **kwargs: P.kwargs) -> R:
        return verb(get_default(), *args, **kwargs)

    signature = inspect.signature(verb)
    on_default.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    on_default.__name__ = on_default.__qualname__ = verb.__name__
    on_default.__module__ = __name__
    on_default.__doc__ = (
        f"``org.{verb.__name__}`` on the default connection (the first ``connect()``, the "
        f"login panel's, or the one ``sfnotebook.use(org)`` chose).\n\n    {inspect.cleandoc(verb.__doc__ or '').replace(chr(10), chr(10) + '    ')}"
    )
    return on_default


if TYPE_CHECKING:
    query = _on_default(soql.query)
    report = _on_default(reports.report)
    extract = _on_default(bulk.extract)
    insert = _on_default(ingest.insert)
    update = _on_default(ingest.update)
    upsert = _on_default(ingest.upsert)
    delete = _on_default(ingest.delete)
    dashboard = _on_default(dashboards.dashboard)

_ON_DEFAULT = {"query": "soql", "report": "reports", "extract": "bulk", "dashboard": "dashboards"}
_ON_DEFAULT.update(insert="ingest", update="ingest", upsert="ingest", delete="ingest")


def __getattr__(name: str) -> object:
    """Import a verb or converter on first use (PEP 562) and keep it as a module attribute."""
    found: object
    if name in _ON_DEFAULT:
        found = _on_default(getattr(_wing(_ON_DEFAULT[name]), name))
    elif name == "records_frame":
        from sfnotebook.soql.records import records_frame as found
    elif name == "pivot_matrix":
        from sfnotebook.reports.pivot import pivot_matrix as found
    elif name in ("report_details", "report_aggregates"):
        from sfnotebook.reports import frames

        found = getattr(frames, name)
    elif name == "doctor":
        from sfnotebook._doctor import doctor as found
    elif name == "clear_cache":
        from sfnotebook._rerun import clear_cache as found
    elif name == "login_panel":
        from sfnotebook.notebook.widgets import login_panel as found
    elif name == "report_browser":
        from sfnotebook.notebook.report_browser import report_browser as found
    elif name == "load_ipython_extension":
        from sfnotebook.notebook.magics import load_ipython_extension as found
    else:
        raise AttributeError(f"module 'sfnotebook' has no attribute {name!r}")
    globals()[name] = found
    return found


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
