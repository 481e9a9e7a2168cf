"""Every ``python`` snippet of the documentation pages (docs/*.md) runs against the demo org.

Each page runs in a namespace of its own, in a folder of its own holding the demo org's
``.env`` (what ``sfnotebook.connect()`` finds, as on an analyst's machine), its snippets in
order as cells of one notebook. Pages start from ``import sfnotebook`` and ``connect()``
themselves; the only names taken for granted are the engines ``dask`` and ``spark`` (a local
session, unless ``-m "not spark"``) where installed, as the README's test does. The rerun
cache goes to a temporary directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
ENGINES = {"dask": "dask.dataframe", "spark": "pyspark"}
FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def _blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


RUNNABLE = [p for p in PAGES if _blocks(p)]


def test_the_pages_have_snippets() -> None:
    assert len(RUNNABLE) >= 8, [p.name for p in RUNNABLE]


@pytest.fixture
def namespace(
    demo_org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    demo_org.write_env(tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    names: dict[str, Any] = {}
    if importlib.util.find_spec("dask") is not None:
        import dask.dataframe

        names["dask"] = dask
    if "not spark" not in (request.config.getoption("markexpr") or ""):
        # No pyspark or no Java here: the Spark lines are left out below.
        with contextlib.suppress(pytest.skip.Exception):
            names["spark"] = request.getfixturevalue("spark")  # tests/conftest.py
    yield names
    demo_org.set_faults()  # a page may switch faults on
    from sfnotebook import connection

    connection.set_default(None)


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_page_snippets_run(page: Path, namespace: dict[str, Any]) -> None:
    left_out: list[str] = []
    for index, code in enumerate(_blocks(page)):
        for name in ENGINES:
            if name not in namespace:
                # Spark and Dask are extras (and Spark needs Java): without them only their
                # lines of a snippet are left out.
                pattern = rf"\w+\s*=\s*{name}\."
                code = "\n".join(line for line in code.splitlines() if not re.match(pattern, line))
        missing = [
            name
            for name, module in ENGINES.items()
            if f"sfnotebook.{name}" in code
            and (importlib.util.find_spec(module.split(".")[0]) is None or name not in namespace)
        ]
        if missing:
            left_out.append(f"block {index} ({', '.join(missing)} not available here)")
            continue  # the page's other blocks still run
        exec(compile(code, f"docs/{page.name} block {index}", "exec"), namespace)  # noqa: S102
    if left_out:
        pytest.skip(f"docs/{page.name}: ran all but " + "; ".join(left_out))
