"""Which dashboard, which filter options, which running user: read before any data is asked for.

Dashboard filters are chosen by option, never by free value: Salesforce takes ``filter1``,
``filter2``, ``filter3`` as the Id of one of the options the dashboard's filter already has
("Filter Dashboard Results": "Dashboard results are always unfiltered, unless you have
specified filter parameters in your request"; analytics_api_dashboard_filter_results.htm). So
``filters={"Opportunity Type": "New Business"}`` is matched against the describe's filters (by
name, ignoring case) and their options (by Id, then alias, then value), and anything that
matches nothing, or several, is refused with the choices listed, before the results are read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from sfnotebook._paths import is_record_id
from sfnotebook.errors import (
    AmbiguousDashboardError,
    DashboardFilterError,
    DashboardNotFoundError,
    InvalidArgumentError,
)

__all__ = ["AppliedFilter", "choose_filters", "choose_running_user", "match_dashboard"]

_ID_RE = re.compile(r"^01Z[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")

#: A dashboard filter applied: the filter, its position, the option chosen.
AppliedFilter = dict[str, Any]


def is_dashboard_id(text: str) -> bool:
    """Whether ``text`` has the shape of a dashboard Id (``01Z``, 15 or 18 characters)."""
    return bool(_ID_RE.match(text))


def match_dashboard(listed: list[dict[str, Any]], name: str) -> str:
    """The Id of the listed dashboard called ``name`` (exact, then ignoring case)."""
    for same in (lambda n: n == name, lambda n: n.casefold() == name.casefold()):
        found = [d for d in listed if same(str(d["name"]))]
        if len(found) == 1:
            return str(found[0]["id"])
        if len(found) > 1:
            ids = [str(d["id"]) for d in found]
            raise AmbiguousDashboardError(
                f"{len(found)} dashboards are called {name!r}; pass the Id of the one you mean: "
                + ", ".join(ids),
                candidates=ids,
            )
    names = [str(d["name"]) for d in listed]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    close += [n for n in names if name.casefold() in n.casefold() and n not in close][:5]
    hint = f" Close matches: {', '.join(repr(n) for n in close)}." if close else ""
    raise DashboardNotFoundError(
        f"No dashboard called {name!r} is listed for this user.{hint}\nThe Dashboards API lists "
        "the dashboards the user used recently: see org.dashboards(), or pass the dashboard's "
        "Id (01Z..., from its URL in Salesforce).",
        close_matches=close,
    )


def check_name(name_or_id: object) -> str:
    """The argument as a stripped string, or InvalidArgumentError."""
    if not isinstance(name_or_id, str) or not name_or_id.strip():
        raise InvalidArgumentError(
            f"dashboard must be a dashboard Id (01Z...) or a dashboard's name, not {name_or_id!r}.",
            argument="dashboard",
        )
    return name_or_id.strip()


def choose_filters(
    metadata: Mapping[str, Any], filters: Mapping[str, object] | None
) -> tuple[dict[str, str], list[AppliedFilter]]:
    """``filters=`` as ``filterN`` query parameters, and what each one applies."""
    if filters is None:
        return {}, []
    if not isinstance(filters, Mapping):
        raise DashboardFilterError(
            "filters takes a dict {filter name: option}, e.g. "
            f"filters={{'Opportunity Type': 'New Business'}}, not {filters!r}."
        )
    defined = list(metadata.get("filters") or [])
    params: dict[str, str] = {}
    applied: list[AppliedFilter] = []
    for name, wanted in filters.items():
        position, flt = _find_filter(defined, name, metadata)
        option = _find_option(flt, wanted)
        params[f"filter{position + 1}"] = str(option["id"])
        applied.append(
            {
                "filter": flt["name"],
                "position": position,
                "option_id": option["id"],
                "option": option.get("alias") or option.get("value"),
                "operation": option.get("operation"),
                "value": option.get("value"),
                "start": option.get("startValue"),
                "end": option.get("endValue"),
            }
        )
    return dict(sorted(params.items())), sorted(applied, key=lambda a: int(a["position"]))


def _find_filter(
    defined: list[dict[str, Any]], name: object, metadata: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    names = [str(f["name"]) for f in defined]
    if isinstance(name, str):
        for i, flt in enumerate(defined):
            if str(flt["name"]).casefold() == name.strip().casefold():
                return i, flt
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    if not names:
        raise DashboardFilterError(
            f"Dashboard {metadata.get('name')!r} has no filters; leave filters= out."
        )
    raise DashboardFilterError(
        f"Dashboard {metadata.get('name')!r} has no filter {name!r}. Its filters: "
        + "; ".join(f"{f['name']!r} ({_options_text(f)})" for f in defined)
        + ".",
        close_matches=close,
    )


def _find_option(flt: Mapping[str, Any], wanted: object) -> dict[str, Any]:
    options = list(flt.get("options") or [])
    text = str(wanted).strip() if isinstance(wanted, str | int | float) else None
    if text is not None:
        for key in ("id", "alias", "value"):
            found = [o for o in options if o.get(key) is not None and _same(str(o[key]), text, key)]
            if len(found) == 1:
                return dict(found[0])
            if len(found) > 1:
                raise DashboardFilterError(
                    f"Several options of the dashboard filter {flt['name']!r} match {wanted!r}; "
                    "pass the option's Id: "
                    + ", ".join(f"{_option_text(o)} = {o['id']}" for o in found)
                )
    raise DashboardFilterError(
        f"The dashboard filter {flt['name']!r} has no option {wanted!r}. Its options: "
        f"{_options_text(flt)}. A dashboard filter takes one of its own options only; for any "
        "other value, run the component's report with org.report(..., filters=[...]).",
        close_matches=difflib.get_close_matches(
            str(wanted), [_option_text(o) for o in options], n=3, cutoff=0.5
        ),
    )


def _same(have: str, want: str, key: str) -> bool:
    if key == "id":
        return have == want or (len(want) == 15 and have[:15] == want)
    return have.casefold() == want.casefold()


def _option_text(option: Mapping[str, Any]) -> str:
    if option.get("alias"):
        return str(option["alias"])
    if option.get("operation") == "between":
        return f"between {option.get('startValue')} and {option.get('endValue')}"
    return f"{option.get('operation')} {option.get('value')}"


def _options_text(flt: Mapping[str, Any]) -> str:
    return ", ".join(repr(_option_text(o)) for o in flt.get("options") or []) or "none"


def choose_running_user(metadata: Mapping[str, Any], running_user: str | None) -> dict[str, str]:
    """``running_user=`` as the ``runningUser`` parameter, checked against the describe."""
    if running_user is None:
        return {}
    if not is_record_id(running_user, "005"):
        raise DashboardFilterError(
            f"running_user={running_user!r} is not a User Id (005..., 15 or 18 characters).",
            argument="running_user",
        )
    if not metadata.get("canChangeRunningUser"):
        current = (metadata.get("runningUser") or {}).get("displayName") or "its running user"
        raise DashboardFilterError(
            f"Dashboard {metadata.get('name')!r} does not let you change its running user (it "
            f"runs as {current}). Leave running_user= out.",
            argument="running_user",
        )
    return {"runningUser": running_user}
