"""``sfnotebook doctor`` against the demo org: its cost first, read-only, right under each dialect.

Each dialect switch a probe settles is run under every one of its values, and the report must
name the value the demo org was set to.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sfnotebook
from sfnotebook._doctor import cache_path, cached_findings, doctor, plan_cost
from sfnotebook_demo import DemoOrg
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to

# The switches whose value the doctor can tell from outside, read-only.
PROBED = (
    "id_filter_operators",
    "query_cursors",
    "foreign_cursor_answer",
    "query_locators",
    "locator_offsets",
    "offset_queries",
)
CASES = [
    pytest.param(name, value, id=f"{name}={value}")
    for name in PROBED
    if name in Dialect.choices()
    for value in Dialect.choices()[name]
]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    with DemoOrg(opportunities=2_000) as org:
        yield org


@pytest.fixture
def conn(demo: Any) -> Iterator[sfnotebook.Connection]:
    c = connect_to(demo)
    yield c
    c.close(revoke=False)
    demo.set_dialect(**Dialect().as_dict())


def _methods(conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the method and path of every request the connection's session sends."""
    sent: list[str] = []
    real = conn.session.request

    def spy(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"{method} {url}")
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(conn.session, "request", spy)
    return sent


def test_the_cost_is_stated_before_the_first_call_and_kept(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _methods(conn, monkeypatch)
    told: list[tuple[str, int]] = []
    report = doctor(conn, announce=lambda text: told.append((text, len(sent))))
    assert told == [
        (
            f"sfnotebook doctor: at most {plan_cost()} API calls to "
            f"{conn.instance_url}, read-only (10 probes).",
            0,
        )
    ]
    assert 0 < report.calls <= plan_cost()
    assert len(sent) <= report.calls  # a second connection's calls go through its own session


def test_it_writes_nothing(
    demo: Any, conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _methods(conn, monkeypatch)
    before = demo.stats()
    doctor(conn, announce=None)
    after = demo.stats()
    assert all(s.startswith("GET ") for s in sent), sent
    tokens = after["tokens_issued"] - before["tokens_issued"]
    assert tokens <= 1, "one token exchange at most (the cursor probe's second session)"
    assert after["requests"] - before["requests"] <= plan_cost()


def test_the_table_names_every_probe(conn: sfnotebook.Connection) -> None:
    report = doctor(conn, announce=None)
    text = str(report)
    for finding in report.findings:
        assert finding.label in text
        assert finding.status in {"ok", "no", "denied", "unknown"}
    assert report["api_versions"].status == "ok"
    assert "v68.0" in report["api_versions"].summary
    assert report["limits"].status == "ok"
    assert "HourlySyncReportRuns" in report["limits"].summary
    assert report["reports"].status == "ok"
    user = report["user"]  # the Run As user's permission sets: its profile's grants all four
    assert user.status == "ok", user.summary
    assert user.summary == (
        "integration@sfnotebook-demo.example: has API Enabled, View Setup and Configuration, "
        "Run Reports, View All Data"
    )
    assert user.details["permissions"] == dict.fromkeys(
        ("API Enabled", "View Setup and Configuration", "Run Reports", "View All Data"), True
    )
    assert f"{report.calls} API calls; nothing was written to the org." in text
    assert "<table>" in report._repr_html_()
    token = conn.token.access_token.reveal()
    assert token not in text and token not in report._repr_html_()
    assert token not in json.dumps(report.as_dict())


@pytest.mark.parametrize(("switch", "value"), CASES)
def test_each_dialect_is_reported_as_it_is(
    demo: Any, conn: sfnotebook.Connection, switch: str, value: str
) -> None:
    demo.set_dialect(**{switch: value})
    report = doctor(conn, announce=None, cache=False)
    assert report.dialect.get(switch) == value, str(report)
    demo.set_dialect(**Dialect().as_dict())


def test_the_findings_are_cached_privately_and_read_back(
    conn: sfnotebook.Connection, _cache_dir: Path
) -> None:
    assert cached_findings(conn) is None
    report = doctor(conn, announce=None)
    path = cache_path(conn.org_id)
    assert path.parent.parent == _cache_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = cached_findings(conn)
    assert again == report
    assert cached_findings(conn.org_id) == report
    path.write_text("{not json")
    assert cached_findings(conn) is None  # a damaged cache is as if there were none


def test_an_odd_org_id_never_becomes_a_path() -> None:
    with pytest.raises(ValueError, match="not an org Id"):
        cache_path("../../etc")


def test_the_command(demo: Any, tmp_path: Path, _cache_dir: Path) -> None:
    env_file = demo.write_env(tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["SFNOTEBOOK_CACHE_DIR"] = str(_cache_dir)
    command = [sys.executable, "-m", "sfnotebook.cli", "doctor", "--env-file", str(env_file)]
    shown = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    first, *rest = shown.stdout.splitlines()
    assert first.startswith(f"sfnotebook doctor: at most {plan_cost()} API calls")
    assert any("Query locators" in line for line in rest)
    as_json = subprocess.run(
        [*command, "--json", "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert {f["key"] for f in data["findings"]} >= {"api_versions", "locators", "limits"}


def test_the_command_says_why_it_cannot_connect(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    missing = tmp_path / "none.env"
    missing.write_text("SF_DOMAIN=\n")
    shown = subprocess.run(
        [sys.executable, "-m", "sfnotebook.cli", "doctor", "--env-file", str(missing)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert shown.returncode == 1
    assert shown.stderr.startswith("sfnotebook doctor: cannot connect:")
    assert "Traceback" not in shown.stderr
