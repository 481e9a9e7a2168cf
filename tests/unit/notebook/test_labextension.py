"""The prebuilt JupyterLab extension (``%%soql`` cells highlighted as SQL) is current and found.

Its source is ``labextension/``; ``make labextension`` builds it into
``sfnotebook/labextension/`` (committed) and records the sources' hash there. Highlighting
itself is checked in a real browser: ``tests/browser/test_browser.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

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


def test_a_wheel_installs_it_where_jupyterlab_looks(tmp_path: Path) -> None:
    """The wheel carries the build as data files for ``share/jupyter/labextensions/``.

    Built from a copy of what the wheel is made of: setuptools' own ``build/`` folder would
    keep files of earlier builds."""
    source = tmp_path / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("sfnotebook", "sfnotebook_demo"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    built_wheel = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built_wheel.returncode == 0, built_wheel.stderr[-3000:]
    (wheel,) = tmp_path.glob("sfnotebook-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    prefix = "/data/share/jupyter/labextensions/sfnotebook-soql/"
    shipped = sorted(n.split(prefix, 1)[1] for n in names if prefix in n)
    built = sorted(p.relative_to(BUILT).as_posix() for p in BUILT.rglob("*") if p.is_file())
    assert shipped == [p for p in built if p != RECORD.name]


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
