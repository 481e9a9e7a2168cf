"""An analyst's first hour, in a real browser: JupyterLab + Debian's Chromium (Playwright).

One notebook, run cell by cell as an analyst would: connect with the login panel (prefilled
from the ``.env`` beside the notebook), browse an object's fields, query with ``params=``,
run a report with a filter written in labels (``("Amount", ">", 100000)``), chart a summary
level, export to Excel, rerun a query from the rerun cache, and switch to a second org by its
profile (``SF_UAT_*`` in the same ``.env``: a second demo org) with ``%%soql -c uat``. Each
step's rendered output is read back from the page and a screenshot saved under
``test-output/first-hour/``; the Excel file is opened with openpyxl and must hold the rows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_browser import (
    CHROMIUM,
    NOTEBOOK,
    jupyterlab,
    lab_page,
    open_notebook,
    run_cell,
    write_lab_settings,
)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "first-hour"
PIPELINE = "Pipeline by Stage"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is absent: install Debian's chromium (make browser) to run this test",
    ),
]


def code(cell_id: str, source: str) -> dict[str, Any]:
    lines = source.strip("\n").splitlines(keepends=True)
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": lines,
    }


CELLS = [
    code("login", "import sfnotebook\npanel = sfnotebook.login_panel()\npanel"),
    code("fields", 'org = panel.connection\norg.fields("Opportunity", search="stage")'),
    code(
        "params",
        """
big = org.query(
    "SELECT Name, Amount FROM Opportunity WHERE Amount > :low ORDER BY Amount DESC LIMIT 5",
    params={"low": 100000},
)
big
""",
    ),
    code(
        "report",
        f"""
res = org.report("{PIPELINE}", filters=[("Amount", ">", 100000)], progress=False)
by_stage = res.level("Stage")
by_stage
""",
    ),
    code(
        "chart",
        'ax = by_stage["Sum of Amount"].plot.barh(figsize=(7, 4), title="Pipeline over 100k")',
    ),
    code("excel", 'xlsx = sfnotebook.to_excel(res, "pipeline.xlsx")\nprint("wrote", xlsx.name)'),
    code(
        "cache",
        """
first = org.query("SELECT Id, Name FROM Account", cache="1h")
again = org.query("SELECT Id, Name FROM Account", cache="1h")
print("from cache:", again.attrs["sfnotebook"]["from_cache"], len(again), "rows")
""",
    ),
    code(
        "profile",
        """
uat = sfnotebook.connect(profile="uat")
print("uat:", uat.name, uat.instance_url, "| default is still org:", sfnotebook.get_default() is org)
""",
    ),
    code("magic", "%load_ext sfnotebook"),
    code("uat_soql", "%%soql -c uat top\nSELECT Name FROM Account ORDER BY Name LIMIT 3"),
]


@pytest.fixture(scope="module")
def uat_org() -> Iterator[Any]:
    """The second org of the notebook's ``uat`` profile: another demo org, its own server."""
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=300, seed=11) as demo:
        yield demo


@pytest.fixture(scope="module")
def first_hour_lab(
    tmp_path_factory: pytest.TempPathFactory, demo_org: Any, uat_org: Any
) -> Iterator[dict[str, Any]]:
    """A JupyterLab whose notebook folder holds a ``.env`` for two profiles."""
    base = tmp_path_factory.mktemp("first-hour")
    work = base / "work"
    work.mkdir()
    lines = [f"{k}={v}" for k, v in demo_org.env().items()]
    lines += [f"{k.replace('SF_', 'SF_UAT_', 1)}={v}" for k, v in uat_org.env().items()]
    env_file = work / ".env"
    env_file.write_text("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    notebook = {**NOTEBOOK, "cells": CELLS}
    (work / "first_hour.ipynb").write_text(json.dumps(notebook, indent=1))
    settings = base / "lab-settings"
    write_lab_settings(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
            "SFNOTEBOOK_CACHE_DIR": str(base / "cache"),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
    )
    with jupyterlab(base, work, env) as lab:
        yield lab


def test_the_first_hour(
    first_hour_lab: dict[str, Any], demo_org: Any, uat_org: Any, org: Any
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    expected = org.report(PIPELINE, filters=[("Amount", ">", 100000)], progress=False)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    lab = first_hour_lab

    with lab_page(
        lab, viewport={"width": 1280, "height": 1100}, failure=OUTPUT / "failure.png"
    ) as page:
        cells = page.locator(".jp-Notebook .jp-Cell")

        def output(index: int) -> Any:
            return cells.nth(index).locator(".jp-OutputArea-output")

        def shot(name: str, index: int) -> None:
            path = OUTPUT / f"{name}.png"
            cells.nth(index).scroll_into_view_if_needed()
            page.screenshot(path=str(path))
            shots.append(path)

        open_notebook(page, lab, "first_hour.ipynb")

        # 1. Connect with the panel: everything, the secret too, comes from the .env.
        run_cell(page, 0)
        panel = page.locator(".sfnotebook-login")
        panel.wait_for()
        secret_field = panel.locator(".sfnotebook-consumer-secret input")
        assert ".env" in (secret_field.get_attribute("placeholder") or "")
        panel.locator("button.sfnotebook-connect").click()
        status = panel.locator(".sfnotebook-status")
        status.filter(has_text=org.org_id).wait_for()  # the card of the connected org
        assert "Connected" in status.inner_text()
        shot("1-connect-panel", 0)

        # 2. Browse an object's fields as a table, not a dict.
        run_cell(page, 1)
        fields = output(1).locator("table")
        fields.wait_for()
        assert "StageName" in fields.inner_text()
        shot("2-browse-fields", 1)

        # 3. Query with params= (bound, quoted by sfnotebook).
        run_cell(page, 2)
        table = output(2).locator("table")
        table.wait_for()
        assert table.locator("tbody tr").count() == 5

        # 4. A report filtered by label and analyst operator; one summary level.
        run_cell(page, 3)
        level = output(3).locator("table")
        level.wait_for()
        assert "Sum of Amount" in level.inner_text()
        shot("3-report-level", 3)

        # 5. Chart the level.
        run_cell(page, 4)
        output(4).locator("img").wait_for()
        shot("4-chart", 4)

        # 6. Export to Excel.
        run_cell(page, 5)
        output(5).filter(has_text="wrote pipeline.xlsx").wait_for()

        # 7. Rerun from the cache.
        run_cell(page, 6)
        output(6).filter(has_text="from cache: True").wait_for()
        shot("5-rerun-cache", 6)

        # 8. A second org by its profile, and a magic aimed at it.
        run_cell(page, 7)
        output(7).filter(has_text="uat: uat").wait_for()
        assert uat_org.url in output(7).inner_text()
        assert "default is still org: True" in output(7).inner_text()
        run_cell(page, 8)
        run_cell(page, 9)
        magic = output(9)
        magic.locator("table").wait_for()
        assert magic.locator("table tbody tr").count() == 3
        assert re.search(r"Stored 3 rows in .top.", cells.nth(9).inner_text())
        shot("6-second-profile", 9)

    print("\nscreenshots: " + ", ".join(str(p.relative_to(ROOT)) for p in shots))
    workbook = openpyxl.load_workbook(lab["work"] / "pipeline.xlsx", read_only=True)
    rows = list(workbook["Details"].iter_rows(values_only=True))
    assert len(rows) == expected.row_count + 1  # the header and every row
    assert list(rows[0]) == list(expected.details.columns)
    assert all(path.stat().st_size > 10_000 for path in shots)
