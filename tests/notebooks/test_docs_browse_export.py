"""Every ``python`` snippet of docs/browse.md and docs/export.md runs, in order, on the demo org.

As in the README test, each page's snippets share one namespace (cells of one notebook) and
``sfnotebook.connect()`` finds the demo org's ``.env`` in the working directory, a temporary
folder where the exported files are written. The clipboard has no tool on a test machine, so
the pages do not call it; tests/unit/test_export.py covers it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("browse.md", "export.md")


def _blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


@pytest.mark.parametrize("page", PAGES)
def test_the_page_runs(page: str, demo_org: Any, tmp_path: Path) -> None:
    import openpyxl

    import sfnotebook

    blocks = _blocks(page)
    assert len(blocks) >= 5
    demo_org.write_env(tmp_path / ".env")
    namespace: dict[str, Any] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        try:
            for index, code in enumerate(blocks):
                exec(compile(code, f"docs/{page} block {index}", "exec"), namespace)  # noqa: S102
        finally:
            default = namespace.get("org")
            if isinstance(default, sfnotebook.Connection):
                default.close()
    if page == "export.md":
        for name in ("opportunities.xlsx", "opportunities-paris.xlsx", "pipeline.xlsx"):
            assert openpyxl.load_workbook(tmp_path / name).active.max_row > 1, name
        assert (tmp_path / "opportunities.csv").read_text().startswith("Id,Name,Amount")
