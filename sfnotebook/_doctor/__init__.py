"""``sfnotebook doctor``: ask a real org, read-only, what it supports, and remember the answer.

The demo org follows Salesforce's documentation and makes every behaviour the documentation
leaves open a switch (its *dialect*). A real org answers each of those questions one way;
``doctor`` finds out which, with a fixed budget of API calls that it states before it starts,
and writes nothing to the org (the only POST is the OAuth token exchange of one probe). What it
found is kept per org in the user's cache (``$SFNOTEBOOK_CACHE_DIR``, else
``$XDG_CACHE_HOME/sfnotebook``, else ``~/.cache/sfnotebook``), so sfnotebook can use it later:
:func:`cached_findings`.

>>> report = sfnotebook.doctor(org)   # doctest: +SKIP
>>> print(report)                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfnotebook import _findings
from sfnotebook._cachedir import write_private
from sfnotebook._doctor._probes import PROBES, Finding, Probe, Scratch
from sfnotebook.connection import Connection, get_default

__all__ = ["DoctorReport", "Finding", "cache_path", "cached_findings", "doctor", "plan_cost"]

_FORMAT = _findings.FORMAT  # the cache file's layout; a file of another layout is ignored


@dataclass(frozen=True)
class DoctorReport:
    """What ``doctor`` found on one org: a finding per probe, and the dialect they add up to."""

    org_id: str
    instance_url: str
    when: str
    findings: tuple[Finding, ...]

    @property
    def calls(self) -> int:
        """API calls the run spent."""
        return sum(f.calls for f in self.findings)

    @property
    def dialect(self) -> dict[str, str]:
        """``{switch: value}`` for every undocumented behaviour a probe settled."""
        out: dict[str, str] = {}
        for finding in self.findings:
            out.update(finding.dialect)
        return out

    def __getitem__(self, key: str) -> Finding:
        for finding in self.findings:
            if finding.key == key:
                return finding
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "org_id": self.org_id,
            "instance_url": self.instance_url,
            "when": self.when,
            "findings": [f.as_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DoctorReport:
        return cls(
            org_id=str(data["org_id"]),
            instance_url=str(data["instance_url"]),
            when=str(data["when"]),
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
        )

    def __str__(self) -> str:
        width = max(len(f.label) for f in self.findings)
        lines = [f"sfnotebook doctor: {self.instance_url} (org {self.org_id}), {self.when}"]
        for f in self.findings:
            lines.append(f"  {f.label:<{width}}  {f.status:<7}  {f.summary}")
        if self.dialect:
            switches = ", ".join(f"{k}={v}" for k, v in sorted(self.dialect.items()))
            lines.append(f"  dialect: {switches}")
        lines.append(f"  {self.calls} API calls; nothing was written to the org.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.label)}</td><td>{html.escape(f.status)}</td>"
            f"<td style='text-align:left'>{html.escape(f.summary)}</td></tr>"
            for f in self.findings
        )
        dialect = ", ".join(f"{k}={v}" for k, v in sorted(self.dialect.items()))
        return (
            f"<b>sfnotebook doctor</b>: {html.escape(self.instance_url)} "
            f"(org {html.escape(self.org_id)}), {html.escape(self.when)}"
            f"<table><tr><th>What</th><th>Status</th><th>Found</th></tr>{rows}</table>"
            f"<p>dialect: <code>{html.escape(dialect or 'none settled')}</code>; "
            f"{self.calls} API calls, nothing written.</p>"
        )


def plan_cost(probes: tuple[Probe, ...] = PROBES) -> int:
    """The most API calls a doctor run can spend."""
    return sum(p.cost for p in probes)


def doctor(
    org: Connection | None = None,
    *,
    cache: bool = True,
    announce: Callable[[str], None] | None = print,
) -> DoctorReport:
    """Probe the org read-only and report what it supports; keep the findings for sfnotebook.

    Parameters
    ----------
    org : Connection, optional
        The connection to probe (default: the default connection).
    cache : bool
        Write the findings to this org's cache file (see :func:`cache_path`).
    announce : callable, optional
        Told the cost before the first call (default ``print``; ``None``: silent).

    Returns
    -------
    DoctorReport
        A finding per probe (``report["locators"]``), ``report.dialect``, ``report.calls``;
        printed as a table, shown as one in a notebook.
    """
    conn = org if org is not None else get_default()
    if announce is not None:
        announce(
            f"sfnotebook doctor: at most {plan_cost()} API calls to {conn.instance_url}, "
            f"read-only ({len(PROBES)} probes)."
        )
    scratch = Scratch()
    findings = tuple(probe(conn, scratch) for probe in PROBES)
    report = DoctorReport(
        org_id=conn.org_id,
        instance_url=conn.instance_url,
        when=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        findings=findings,
    )
    if cache:
        write_private(cache_path(conn.org_id), json.dumps(report.as_dict(), indent=1))
    return report


def cache_path(org_id: str) -> Path:
    """Where the findings for ``org_id`` are kept."""
    return _findings.cache_path(org_id)  # the verbs read (and amend) it too


def cached_findings(org: Connection | str) -> DoctorReport | None:
    """The last doctor report of this org (a connection or an org Id), or None."""
    org_id = org if isinstance(org, str) else org.org_id
    try:
        data = json.loads(cache_path(org_id).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT or data.get("org_id") != org_id:
            return None
        return DoctorReport.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no report yet, or one this version cannot read: as if none
