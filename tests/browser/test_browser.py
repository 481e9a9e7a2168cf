"""A real browser: JupyterLab + Debian's Chromium (driven by Playwright), against the demo org.

JupyterLab starts headless on 127.0.0.1 (free port, token auth) in a temporary folder holding a
small notebook with the login panel and a ``%%soql`` cell. Its environment has the demo org's
domain, consumer key and CA bundle but not the secret: the test types the secret into the
password field, clicks Connect, waits for the connected user, runs the ``%%soql`` cell and reads
the rendered table. Widget-state saving is switched on, and the saved notebook is checked for
the secret. A screenshot goes to ``test-output/browser/`` in the repository root.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is absent: install Debian's chromium (make browser) to run this test",
    ),
]

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "login",
            "metadata": {},
            "outputs": [],
            "source": [
                "import sfnotebook\n",
                "%load_ext sfnotebook\n",
                "panel = sfnotebook.login_panel()\n",
                "panel",
            ],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "soql",
            "metadata": {},
            "outputs": [],
            "source": ["%%soql accounts\n", "SELECT Id, Name FROM Account ORDER BY Name LIMIT 5"],
        },
    ],
    "metadata": {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_lab_settings(settings_dir: Path) -> None:
    """Save widget state with the notebook (so the test can check it), and no news pop-ups."""
    files = {
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, content in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def wait_for_server(url: str, token: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    status = f"{url}/api/status"  # our own http://127.0.0.1 URL
    request = urllib.request.Request(status, headers={"Authorization": f"token {token}"})  # noqa: S310 - http://127.0.0.1, our own JupyterLab
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as resp:  # noqa: S310 - our localhost URL
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, demo_org: Any) -> Iterator[dict[str, Any]]:
    """One JupyterLab for the module: its URL, token and working folder."""
    base = tmp_path_factory.mktemp("lab")
    work = base / "work"
    work.mkdir()
    (work / "login.ipynb").write_text(json.dumps(NOTEBOOK, indent=1))
    settings = base / "lab-settings"
    write_lab_settings(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    demo_env = demo_org.env()
    env.update(
        {
            # Everything but the secret, which the test types in.
            "SF_DOMAIN": demo_env["SF_DOMAIN"],
            "SF_CONSUMER_KEY": demo_env["SF_CONSUMER_KEY"],
            "SF_CA_BUNDLE": demo_env["SF_CA_BUNDLE"],
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
    )
    with jupyterlab(base, work, env) as lab:
        yield lab


@contextmanager
def jupyterlab(base: Path, work: Path, env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """JupyterLab serving ``work`` with ``env`` (its log in ``base``): URL, token, folder, log."""
    port, token = free_port(), secrets.token_hex(16)
    log = base / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--ServerApp.port_retries=0",
        "--LabApp.extension_manager=readonly",  # no PyPI look-ups
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, token, proc, log)
        yield {"url": url, "token": token, "work": work, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def lab_page(lab: dict[str, Any], *, viewport: dict[str, int], failure: Path) -> Iterator[Any]:
    """A page of Debian's Chromium (Playwright) with the suite's timeout. When the test fails
    in it, a full-page screenshot goes to ``failure`` and the JupyterLab log is named."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=viewport)
        page.set_default_timeout(TIMEOUT_MS)
        try:
            yield page
        except Exception:
            failure.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(failure), full_page=True)
            print(f"\nscreenshot of the failure: {failure}\nJupyterLab log: {lab['log']}")
            raise
        finally:
            browser.close()


def open_notebook(page: Any, lab: dict[str, Any], path: str, *, reset: bool = True) -> None:
    """Open ``path`` (relative to the lab's folder) and wait until its kernel is idle.

    ``reset``: a fresh workspace, so notebooks other tests opened stay closed (one shown)."""
    query = f"reset&token={lab['token']}" if reset else f"token={lab['token']}"
    page.goto(f"{lab['url']}/lab/tree/{path}?{query}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()  # the kernel is connected


def run_cell(page: Any, index: int) -> None:
    """Select a cell, run it with Shift+Enter, and wait until the kernel has run it."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    # The prompt turns from "[ ]:" to "[*]:" and then "[n]:".
    prompt = cell.locator(".jp-InputArea-prompt")
    prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for()


def test_login_panel_and_soql_in_jupyterlab(lab: dict[str, Any], demo_org: Any, org: Any) -> None:
    expected = org.query("SELECT Id, Name FROM Account ORDER BY Name LIMIT 5")["Name"].tolist()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    screenshot = OUTPUT / "jupyterlab_login_soql.png"

    with lab_page(
        lab, viewport={"width": 1280, "height": 1000}, failure=OUTPUT / "failure.png"
    ) as page:
        open_notebook(page, lab, "login.ipynb", reset=False)

        run_cell(page, 0)
        panel = page.locator(".sfnotebook-login")
        panel.wait_for()
        # Domain and key are prefilled from the environment; type them anyway, as a user would.
        panel.locator(".sfnotebook-domain input").fill(demo_org.domain)
        panel.locator(".sfnotebook-consumer-key input").fill(demo_org.consumer_key)
        password = panel.locator(".sfnotebook-consumer-secret input")
        password.press_sequentially(demo_org.consumer_secret)
        panel.locator("button.sfnotebook-connect").click()

        status = panel.locator(".sfnotebook-status")
        status.filter(has_text=org.username).wait_for()
        assert "Connected" in status.inner_text()
        assert org.org_id in status.inner_text()
        assert re.search(r"[\d,]+ of [\d,]+ requests", status.inner_text())  # API usage
        assert password.input_value() == ""  # the field is emptied once read

        run_cell(page, 1)
        table = page.locator(".jp-Notebook .jp-Cell").nth(1).locator("table.dataframe")
        table.wait_for()
        header = table.locator("thead th").all_inner_texts()
        rows = table.locator("tbody tr")
        assert rows.count() == 5
        names = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(5)]
        assert "Name" in header
        assert names == expected

        page.screenshot(path=str(screenshot), full_page=True)
        print(f"\nscreenshot: {screenshot}")

        # Save: with widget-state saving on, the panel's state goes into the file too.
        page.keyboard.press("Control+s")
        saved = lab["work"] / "login.ipynb"
        deadline = time.monotonic() + 30
        while "table" not in saved.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)

    text = saved.read_text()
    assert "dataframe" in text, "the notebook was not saved"
    nb = json.loads(text)
    assert "widgets" in nb["metadata"], "widget state was not saved"
    assert demo_org.consumer_secret not in text
    assert not re.search(r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}", text)  # no session id
    assert screenshot.stat().st_size > 10_000


BROWSER_NOTEBOOK = {
    **NOTEBOOK,
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "browser",
            "metadata": {},
            "outputs": [],
            "source": [
                "import sfnotebook\n",
                "org = sfnotebook.connect()  # the .env beside this notebook\n",
                "browser = sfnotebook.report_browser(org)\n",
                "browser",
            ],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "pasted",
            "metadata": {},
            "outputs": [],
            "source": [],
        },
    ],
}
BUILD = ROOT / "build" / "browser"


def test_report_browser_in_jupyterlab(lab: dict[str, Any], demo_org: Any, org: Any) -> None:
    """Select a report, add a filter, run it, copy the call into a cell and run that too."""
    sync_api = pytest.importorskip("playwright.sync_api")
    folder = lab["work"] / "browse"  # its own .env: the login notebook next door has none
    folder.mkdir()
    demo_org.write_env(folder / ".env")
    (folder / "report_browser.ipynb").write_text(json.dumps(BROWSER_NOTEBOOK, indent=1))
    expected = org.report(
        "Pipeline by Stage", filters=[("AMOUNT", "greaterThan", 250000)], progress=False
    )
    BUILD.mkdir(parents=True, exist_ok=True)
    screenshot = BUILD / "report_browser.png"

    with lab_page(
        lab, viewport={"width": 1400, "height": 2100}, failure=BUILD / "report_browser_failure.png"
    ) as page:
        open_notebook(page, lab, "browse/report_browser.ipynb")

        run_cell(page, 0)
        panel = page.locator(".sfnotebook-report-browser")
        panel.wait_for()
        panel.locator(".sfnotebook-search input").fill("pipeline by")
        reports = panel.locator(".sfnotebook-reports select")
        # The search filters as it is typed: wait until the list is down to the one match
        # (the report is in the unfiltered list too, so waiting for it would not do).
        sync_api.expect(reports.locator("option")).to_have_count(1)
        shown = reports.locator("option").first.inner_text().replace("\xa0", " ")
        assert shown.startswith("Pipeline by Stage")
        reports.select_option(index=0)
        details = panel.locator(".sfnotebook-details")
        details.filter(has_text="Summary").wait_for()
        assert "Stage" in details.inner_text()  # the row grouping

        panel.locator("button.sfnotebook-add-filter").click()
        row = panel.locator(".sfnotebook-filter-row")
        row.wait_for()
        selects = row.locator("select")
        selects.nth(0).select_option(label="Amount (AMOUNT)")
        selects.nth(1).locator("option").filter(has_text="greater than").first.wait_for(
            state="attached"
        )
        selects.nth(1).select_option(label="greater than")
        row.locator("input").fill("250000")
        row.locator("input").press("Enter")

        panel.locator("button.sfnotebook-run").click()
        status = panel.locator(".sfnotebook-browser-status")
        status.filter(has_text=f"{expected.row_count:,} rows in").wait_for()
        preview = panel.locator(".sfnotebook-preview")
        preview.filter(has_text="Aggregates").wait_for()
        assert "Sum of Amount" in preview.inner_text()

        panel.locator("button.sfnotebook-show-code").click()
        code_box = panel.locator(".sfnotebook-code textarea")
        code_box.wait_for()
        code = code_box.input_value()
        assert code == (
            "res = org.report(\n"
            "    'Pipeline by Stage',\n"
            "    filters=[\n"
            "        ('Amount', '>', 250000),\n"
            "    ],\n"
            ")"
        )
        page.screenshot(path=str(screenshot), full_page=True)
        print(f"\nscreenshot: {screenshot}")

        # Copy the call into the empty cell below, as an analyst would, and run it.
        pasted = page.locator(".jp-Notebook .jp-Cell").nth(1)
        pasted.locator(".jp-InputArea-editor").click()
        page.keyboard.insert_text(code + "\nprint('rows:', res.row_count)")
        run_cell(page, 1)
        output = pasted.locator(".jp-OutputArea-output")
        output.filter(has_text="rows:").wait_for()
        assert output.inner_text().strip() == f"rows: {expected.row_count}"

        page.keyboard.press("Control+s")
        saved = folder / "report_browser.ipynb"
        deadline = time.monotonic() + 30
        while "rows:" not in saved.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)

    text = saved.read_text()
    nb = json.loads(text)
    assert "widgets" in nb["metadata"], "widget state was not saved"
    assert "Pipeline by Stage" in json.dumps(nb["metadata"]["widgets"])
    assert demo_org.consumer_secret not in text
    assert not re.search(r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}", text)  # no session id
    assert screenshot.stat().st_size > 10_000


HIGHLIGHT_NOTEBOOK = {
    **NOTEBOOK,
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "soql",
            "metadata": {},
            "outputs": [],
            "source": ["%%soql accounts\n", "SELECT Name FROM Account WHERE Name LIKE 'A%'"],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "python",
            "metadata": {},
            "outputs": [],
            "source": ["import os\n", "SELECT = 'SELECT'"],
        },
    ],
}

# A token's colour as CodeMirror renders it, found by its exact text in one cell's editor.
_TOKEN_COLOUR = """([cell, text]) => {
    const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
    const content = cells[cell].querySelector('.cm-content');
    const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.textContent.trim() === text) {
            return getComputedStyle(node.parentElement).color;
        }
    }
    return null;
}"""


def test_soql_cells_highlighted_as_sql(lab: dict[str, Any]) -> None:
    """The prebuilt extension (sfnotebook/labextension) gives ``%%soql`` cells SQL's colours
    and leaves Python cells Python's, following an edit of the first line."""
    (lab["work"] / "highlight.ipynb").write_text(json.dumps(HIGHLIGHT_NOTEBOOK, indent=1))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    screenshot = OUTPUT / "soql_highlighted.png"

    with lab_page(
        lab,
        viewport={"width": 1200, "height": 700},
        failure=OUTPUT / "soql_highlighted_failure.png",
    ) as page:
        open_notebook(page, lab, "highlight.ipynb")
        page.locator(".jp-Notebook .jp-Cell .cm-content").nth(1).wait_for()

        def colour(cell: int, text: str) -> str | None:
            return page.evaluate(_TOKEN_COLOUR, [cell, text])  # type: ignore[no-any-return]

        # Python's language loads on demand: wait until the Python cell shows its tokens.
        page.wait_for_function(
            f"() => ({_TOKEN_COLOUR})([1, 'import']) !== null"
            f" && ({_TOKEN_COLOUR})([1, \"'SELECT'\"]) !== null"
        )
        keyword = colour(1, "import")  # Python's keyword colour
        plain = colour(1, "SELECT")  # a Python name: not a keyword
        assert keyword and plain and keyword != plain
        # The %%soql cell: SQL keywords and strings in SQL's colours. The extension may
        # load after the notebook shows, so wait for it to take effect.
        page.wait_for_function(f"() => ({_TOKEN_COLOUR})([0, 'SELECT']) === {keyword!r}")
        assert colour(0, "FROM") == keyword
        assert colour(0, "'A%'") == colour(1, "'SELECT'")  # a string, as in Python
        page.screenshot(path=str(screenshot))

        # Remove the magic: the cell follows the notebook's language again.
        editor = page.locator(".jp-Notebook .jp-Cell").nth(0).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+Home")
        page.keyboard.press("Shift+End")
        page.keyboard.press("Delete")
        # (Unstyled, SELECT is no token of its own: null, or another colour.)
        page.wait_for_function(f"() => ({_TOKEN_COLOUR})([0, 'SELECT']) !== {keyword!r}")
        # ... and typing it back makes it SQL once more.
        page.keyboard.insert_text("%%soql again")
        page.wait_for_function(f"() => ({_TOKEN_COLOUR})([0, 'SELECT']) === {keyword!r}")
        # A blank line above the magic: IPython still runs it as one, and it stays SQL.
        page.keyboard.press("Control+Home")
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)  # the extension answers each edit at once: give it time
        assert colour(0, "SELECT") == keyword
    assert screenshot.stat().st_size > 5_000
