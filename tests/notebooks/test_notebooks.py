"""Every notebook in notebooks/ runs top to bottom against the demo org, one kernel each.

The notebooks read their settings as an analyst's would: from ``.env`` in the working directory
(here a temporary folder holding the demo org's ``.env``), with no ``SF_*`` variables set, so
the ``.env`` path of ``sfnotebook.connect()`` and of the login panel is what runs.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tools.run_demo import dataframe_previews, execute_notebook  # noqa: E402

# A Salesforce session id: the 15-character org id, "!", then the opaque part.
TOKEN = re.compile(r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}")
NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.notebook


def kernel_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"quickstart.ipynb", "exploring_reports.ipynb", "soql_recipes.ipynb"} <= names


@pytest.fixture(scope="module")
def executed(demo_org: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every notebook executed at once, one kernel each (they wait on I/O, not on each other).

    Maps the notebook's stem to the executed notebook, or to the exception it raised
    (nbclient raises CellExecutionError on the first cell with an error output).
    """
    work = tmp_path_factory.mktemp("notebooks")
    demo_org.write_env(work / ".env")

    def run(path: Path) -> Any:
        try:
            return execute_notebook(path, cwd=work, env=kernel_env(), timeout=300)
        except Exception as exc:  # reported by the test of that notebook
            return exc

    with ThreadPoolExecutor(max_workers=len(NOTEBOOKS) or 1) as pool:
        return dict(zip([p.stem for p in NOTEBOOKS], pool.map(run, NOTEBOOKS), strict=True))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_against_the_demo_org(
    path: Path, demo_org: Any, executed: dict[str, Any]
) -> None:
    nb = executed[path.stem]
    if isinstance(nb, BaseException):
        raise nb

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    stderr = [
        o["text"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    ]
    assert not [s for s in stderr if "Warning" in s or "Traceback" in s], stderr

    # Real tables came back (not just empty frames), and the quickstart drew its chart.
    previews = dataframe_previews(nb)
    assert previews, "the notebook displayed no DataFrame"
    assert any(len(head.splitlines()) >= 2 for _, _, head in previews)
    if path.stem == "quickstart":
        images = [
            o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        ]
        assert len(images) >= 1

    # Neither the consumer secret nor any token ended up in the executed notebook.
    text = json.dumps(nb)
    assert demo_org.consumer_secret not in text
    assert not TOKEN.search(text)
