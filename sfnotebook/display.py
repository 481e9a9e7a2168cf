"""HTML reprs for notebooks: the connection, report results, and the login panel's messages.

Every value is escaped with :func:`html.escape`; no function here ever renders a token or a
consumer secret (the connection's token is simply never read). pandas is imported only when
a report result is rendered.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "connection_html",
    "error_html",
    "progress_html",
    "report_html",
    "usage_text",
]

# Inline styles only: JupyterLab, classic Notebook, VS Code and nbconvert's HTML all keep them.
_TABLE = "border-collapse:collapse;margin:0.25em 0"
_TH = "text-align:left;padding:1px 12px 1px 0;font-weight:600;vertical-align:top"
_TD = "text-align:left;padding:1px 12px 1px 0;font-family:monospace"
_TITLE = "font-weight:600;margin-bottom:0.2em"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _rows(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(
        f'<tr><th style="{_TH}">{_e(k)}</th><td style="{_TD}">{_e(v)}</td></tr>' for k, v in pairs
    )


def _table(title: str, pairs: Iterable[tuple[str, Any]], *, css_class: str) -> str:
    return (
        f'<div class="{css_class}"><div style="{_TITLE}">{_e(title)}</div>'
        f'<table style="{_TABLE}">{_rows(pairs)}</table></div>'
    )


def usage_text(usage: tuple[int, int] | None) -> str:
    """``(used, max)`` -> ``"1,234 of 15,000 requests (8.2%) in the last 24 hours"``."""
    if not usage:
        return "not reported yet"
    used, limit = usage
    share = f" ({used / limit:.1%})" if limit else ""
    return f"{used:,} of {limit:,} requests{share} in the last 24 hours"


def connection_html(conn: Any) -> str:
    """HTML summary of a :class:`~sfnotebook.Connection`: org, user, API version and usage.

    Parameters
    ----------
    conn : sfnotebook.Connection
        A connected org. Only its public identity attributes are read, never the token.

    Returns
    -------
    str
        An HTML fragment (a small two-column table).

    Examples
    --------
    >>> from IPython.display import HTML                  # doctest: +SKIP
    >>> HTML(connection_html(org))                        # doctest: +SKIP
    """
    identity = getattr(conn, "identity", None) or {}
    display_name = identity.get("display_name") if isinstance(identity, Mapping) else None
    user = str(getattr(conn, "username", "") or "")
    if display_name and display_name != user:
        user = f"{user} ({display_name})"
    pairs = [
        ("User", user or "unknown"),
        ("Org Id", getattr(conn, "org_id", "") or "unknown"),
        ("Instance", getattr(conn, "instance_url", "") or "unknown"),
        ("API version", f"v{getattr(conn, 'api_version', '?')}"),
        ("API usage", usage_text(getattr(conn, "api_usage", None))),
    ]
    name = getattr(conn, "name", None)
    if isinstance(name, str):  # which profile, and whether %%soql runs here (issue 14)
        role = (
            "the default connection (sfnotebook.query and %%soql run here)"
            if getattr(conn, "is_default", False) is True
            else "not the default: sfnotebook.use(org) makes it the default"
        )
        pairs.append(("Profile", f"{name}, {role}"))
    return _table("Salesforce connection", pairs, css_class="sfnotebook-connection")


def progress_html(message: str) -> str:
    """A one-line progress message (the login panel's "Connecting to ...")."""
    return f'<div class="sfnotebook-progress" style="color:#555">&#8987; {_e(message)}</div>'


def error_html(message: str, *, title: str = "Could not connect") -> str:
    """An error message as the analyst should read it: title, then the message, no traceback."""
    body = "<br>".join(_e(line) for line in str(message).splitlines())
    return (
        '<div class="sfnotebook-error" style="color:#a40000;border-left:3px solid #a40000;'
        f'padding-left:8px"><div style="{_TITLE}">{_e(title)}</div>{body}</div>'
    )


def _column_names(frame: Any) -> list[Any]:
    """Column names of a pandas or polars frame, or a ``pyarrow.Table``."""
    names = getattr(frame, "column_names", None)  # Arrow: .columns are the arrays
    return list(names if names is not None else frame.columns)


def report_html(result: Any, *, max_rows: int = 10) -> str:
    """HTML summary of a report result: name, format, row count, groupings, first rows.

    Reads, when present, these attributes of ``result`` (a
    :class:`sfnotebook.reports.ReportResult` or anything shaped like it): ``name`` (or
    ``report_name``), ``report_id`` (or ``id``), ``format`` (or ``report_format``), the detail
    frame ``frame`` (or ``details`` / ``df``), ``row_count``, ``groupings`` (labels or dicts
    with ``label``/``name``; else ``groupings_down`` + ``groupings_across``; else read from
    ``metadata`` / ``payload["reportMetadata"]``), ``aggregates`` (a DataFrame) and
    ``runs`` (how many report runs fetched it). A bare DataFrame is shown as its head.

    Parameters
    ----------
    result
        The report result.
    max_rows
        Rows of the detail frame to show.

    Returns
    -------
    str
        An HTML fragment.
    """
    frame = _first_attr(result, "details", "frame", "df")
    if frame is None and hasattr(result, "head") and hasattr(result, "columns"):
        frame = result
    name = _first_attr(result, "name", "report_name") or _metadata(result).get("name")
    report_id = _first_attr(result, "report_id", "id") or _metadata(result).get("id")
    fmt = _first_attr(result, "format", "report_format") or _metadata(result).get("reportFormat")
    row_count = _first_attr(result, "row_count")
    if row_count is None and frame is not None:
        row_count = len(frame)
    pairs: list[tuple[str, Any]] = []
    if report_id:
        pairs.append(("Id", report_id))
    pairs.append(("Format", str(fmt).title() if fmt else "unknown"))
    if row_count is not None:
        pairs.append(("Detail rows", f"{int(row_count):,}"))
    if frame is not None:
        pairs.append(("Columns", f"{len(_column_names(frame)):,}"))
    groupings = _groupings(result)
    pairs.append(("Groupings", ", ".join(groupings) if groupings else "none"))
    aggregates = _first_attr(result, "aggregates")
    if aggregates is not None and hasattr(aggregates, "columns"):
        # "Is Total" is report_frames' marker column, not one of the report's aggregates;
        # outside pandas the grouping levels are columns too.
        levels = set() if hasattr(aggregates, "index") else set(groupings)
        names = [
            str(c) for c in _column_names(aggregates) if str(c) != "Is Total" and c not in levels
        ]
        pairs.append(("Aggregates", ", ".join(names) or "none"))
    runs = _first_attr(result, "runs")
    if isinstance(runs, int):
        pairs.append(("Report runs", runs))
    out = _table(f"Report: {name or 'unnamed'}", pairs, css_class="sfnotebook-report")
    if frame is not None:
        shown = min(max_rows, len(frame))
        head = frame.slice(0, max_rows) if hasattr(frame, "slice") else frame.head(max_rows)
        if not hasattr(head, "to_html"):  # polars and Arrow show through pandas
            head = head.to_pandas()
        table = head.to_html(max_cols=30, border=0, na_rep="", escape=True)
        caption = f"first {shown:,} of {len(frame):,} rows" if len(frame) > shown else ""
        out += table + (f'<div style="color:#555">{_e(caption)}</div>' if caption else "")
    return out


def _first_attr(obj: Any, *names: str) -> Any:
    for name in names:
        try:
            value = getattr(obj, name, None)
        except Exception:  # noqa: S112 - a failing property must not break the repr
            continue
        if value is not None and not callable(value):
            return value
    return None


def _metadata(result: Any) -> Mapping[str, Any]:
    meta = _first_attr(result, "metadata", "report_metadata")
    if isinstance(meta, Mapping):
        return meta.get("reportMetadata", meta)  # type: ignore[no-any-return]
    payload = _first_attr(result, "payload", "raw")
    if isinstance(payload, Mapping):
        inner = payload.get("reportMetadata")
        if isinstance(inner, Mapping):
            return inner
    return {}


def _labels(items: Any) -> list[str]:
    if not items:
        return []
    if isinstance(items, str):
        return [items]
    labels = []
    for item in items if isinstance(items, Sequence) else list(items):
        if isinstance(item, Mapping):
            labels.append(str(item.get("label") or item.get("name") or ""))
        else:
            labels.append(str(item))
    return [label for label in labels if label]


def _groupings(result: Any) -> list[str]:
    direct = _first_attr(result, "groupings")
    if direct is not None:
        return _labels(direct)
    down = _labels(_first_attr(result, "groupings_down"))
    across = _labels(_first_attr(result, "groupings_across"))
    if not down and not across:
        meta = _metadata(result)
        down = _labels(meta.get("groupingsDown"))
        across = _labels(meta.get("groupingsAcross"))
    if across:
        return [f"{g} (rows)" for g in down] + [f"{g} (columns)" for g in across]
    return down
