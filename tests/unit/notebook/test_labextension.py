"""The prebuilt JupyterLab extension (``%%soql`` cells highlighted as SQL) is current and found.

Its source is ``labextension/``; ``make labextension`` builds it into
``sfnotebook/labextension/`` (committed) and records the sources' hash there. Highlighting
itself is checked in a real browser: ``tests/browser/test_browser.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.labextension_hash import RECORD, SOURCE, source_hash

ROOT = Path(__file__).resolve().parents[3]
BUILT = ROOT / "sfnotebook" / "labextension"


def test_the_build_is_of_the_current_sources() -> None:
    assert RECORD.read_text().strip() == source_hash(), (
        "labextension/ changed since sfnotebook/labextension/ was built: run make labextension"
    )


def test_the_build_names_its_entry_point() -> None:
    source = json.loads((SOURCE / "package.json").read_text())
    built = json.loads((BUILT / "package.json").read_text())
    assert (built["name"], built["version"]) == (source["name"], source["version"])
    entry = BUILT / built["jupyterlab"]["_build"]["load"]
    assert entry.is_file()
    assert "sfnotebook-soql:highlight" in "".join(
        p.read_text() for p in (BUILT / "static").glob("*.js")
    )


def test_a_wheel_installs_it_where_jupyterlab_looks() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and newer
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data = tool["data-files"]
    target = "share/jupyter/labextensions/sfnotebook-soql"
    assert data[target] == ["sfnotebook/labextension/package.json"]
    assert data[f"{target}/static"] == ["sfnotebook/labextension/static/*"]
    shipped = tool["package-data"]["sfnotebook"]
    assert {"labextension/package.json", "labextension/static/*"} <= set(shipped)


def test_jupyterlab_lists_it_enabled() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    text = listing.stdout + listing.stderr
    line = next((ln for ln in text.splitlines() if "sfnotebook-soql" in ln), "")
    assert "enabled" in line and "OK" in line, text
