"""The result of ``org.dashboard()``: the dashboard's components, what was applied, what it cost."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator, Mapping
from typing import Any

from sfnotebook.dashboards._components import DashboardComponent

__all__ = ["DashboardResult"]


class DashboardResult:
    """A dashboard read whole: every component's data as report frames.

    Index it by position, component title or component Id (``res["Pipeline by stage"]``);
    iterate over the components; ``len(res)`` is their number.

    Attributes
    ----------
    id, name, developer_name : str
        The dashboard's Id (``01Z...``), name and API name.
    folder_id : str or None
        The Id of its folder.
    dashboard_type : str or None
        ``SpecifiedUser`` (runs as one user), ``LoggedInUser`` (dynamic: runs as the viewer)
        or ``MyTeamUser``.
    running_user : str or None
        Whom its data was computed as (display name); ``running_user_id`` is the Id.
    components : list of DashboardComponent
        In the dashboard's order; each has ``aggregates`` (always, for report components),
        ``details`` (where the component shows detail rows), ``title``, ``type`` and the
        filters applied.
    filters : list of dict
        The dashboard filters applied (``filter``, ``option``, ``operation``, ``value``).
    refreshed : bool
        Whether this call refreshed the dashboard (``refresh=True``).
    notes : list of str
        What the call did that the analyst should know (a refresh spent).
    last_refreshed : datetime or None
        The latest component refresh date (UTC): the data is as of then.
    metadata : dict
        The ``dashboardMetadata`` Salesforce answered.
    """

    def __init__(
        self,
        *,
        metadata: Mapping[str, Any],
        components: list[DashboardComponent],
        filters: list[dict[str, Any]],
        refreshed: bool,
        notes: list[str],
    ) -> None:
        user = metadata.get("runningUser") or {}
        self.id = str(metadata["id"])
        self.name = str(metadata["name"])
        self.developer_name = str(metadata.get("developerName") or "")
        self.folder_id = metadata.get("folderId")
        self.dashboard_type = metadata.get("dashboardType")
        self.running_user = user.get("displayName")
        self.running_user_id = user.get("id")
        self.components = components
        self.filters = filters
        self.refreshed = refreshed
        self.notes = notes
        self.metadata = dict(metadata)

    @property
    def last_refreshed(self) -> dt.datetime | None:
        """The latest component refresh date (UTC), or None."""
        dates = [c.refresh_date for c in self.components if c.refresh_date is not None]
        return max(dates) if dates else None

    def __len__(self) -> int:
        return len(self.components)

    def __iter__(self) -> Iterator[DashboardComponent]:
        return iter(self.components)

    def __getitem__(self, key: int | str) -> DashboardComponent:
        if isinstance(key, int):
            return self.components[key]
        found = [c for c in self.components if key in (c.id, c.id[:15], c.title)]
        if len(found) == 1:
            return found[0]
        titles = ", ".join(repr(c.title) for c in self.components)
        what = "several components" if found else "no component"
        raise KeyError(f"{what} called {key!r} in {self.name!r}; its components: {titles}")

    def __repr__(self) -> str:
        when = self.last_refreshed
        stamp = when.strftime("%Y-%m-%d %H:%M UTC") if when else "never refreshed"
        return (
            f"<DashboardResult {self.name!r}: {len(self.components)} components, data as of "
            f"{stamp}{', refreshed now' if self.refreshed else ''}>"
        )

    def _repr_html_(self) -> str:
        return dashboard_html(self)


_TH = "text-align:left;padding:1px 12px 1px 0;font-weight:600"
_TD = "text-align:left;padding:1px 12px 1px 0"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _numbers(comp: DashboardComponent) -> str:
    """The grand total of a component's first aggregate, as a short text."""
    agg = comp.aggregates
    if agg is None:
        return ""
    frame = agg if hasattr(agg, "iloc") else agg.to_pandas()
    # Outside pandas the grouping levels are leading columns: skip them too.
    names = [c for c in frame.columns if c != "Is Total" and c not in comp.groupings]
    if not len(frame) or not names:
        return ""
    value = frame[names[0]].iloc[-1]
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{names[0]}: {text}"


def dashboard_html(result: DashboardResult) -> str:
    """HTML summary: the dashboard, what was applied, and one row per component."""
    when = result.last_refreshed
    facts = [
        ("Id", result.id),
        ("Running user", result.running_user or "unknown"),
        ("Data as of", when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "never refreshed"),
        (
            "Filters",
            "; ".join(f"{f['filter']} = {f['option']}" for f in result.filters) or "none",
        ),
    ]
    head = "".join(
        f'<tr><th style="{_TH}">{_e(k)}</th><td style="{_TD}">{_e(v)}</td></tr>' for k, v in facts
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td style="{_TD}">{_e(v)}</td>'
            for v in (
                i + 1,
                c.title,
                c.type,
                c.report_name,
                ", ".join(c.groupings) or "(grand total)",
                _numbers(c),
                "" if c.details is None else f"{len(c.details):,} rows",
                c.warning or "",
            )
        )
        + "</tr>"
        for i, c in enumerate(result.components)
    )
    columns = ("#", "Component", "Type", "Report", "Grouped by", "Total", "Details", "Warning")
    header = "".join(f'<th style="{_TH}">{_e(c)}</th>' for c in columns)
    notes = "".join(f'<div style="color:#555">{_e(n)}</div>' for n in result.notes)
    return (
        f'<div class="sfnotebook-dashboard"><div style="font-weight:600">Dashboard: '
        f"{_e(result.name)}</div><table>{head}</table>{notes}"
        f'<table style="border-collapse:collapse;margin-top:0.3em"><thead><tr>{header}</tr>'
        f"</thead><tbody>{rows}</tbody></table></div>"
    )
