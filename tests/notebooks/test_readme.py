"""Every ``python`` snippet of the README runs, in order, against the demo org.

The snippets share one namespace, as cells of a notebook would, and read their settings as an
analyst's would: ``sfnotebook.connect()`` finds the demo org's ``.env`` in the working
directory (a temporary folder, where ``opps/`` is written too). The only names the snippets
take for granted are seeded here: ``payload`` ("JSON you already have"), ``pandas`` and
``duckdb`` for the Parquet read-back, and the engines ``dask`` and ``spark`` (a local session,
unless ``-m "not spark"``) where installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
ENGINES = {"dask": "dask.dataframe", "spark": "pyspark"}


def test_the_readme_has_snippets() -> None:
    assert len(BLOCKS) >= 8


def test_the_readme_is_short_and_ordered_for_analysts() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    headings = re.findall(r"^## (.+)$", text, re.M)
    order = ["Install", "Connect", "Query", "Reports", "Extract", "In a notebook", "Links"]
    found = [next(i for i, h in enumerate(headings) if h.startswith(o)) for o in order]
    assert found == sorted(found), headings
    assert 'pip install "sfnotebook[notebook]"' in text
    for target in re.findall(r"\]\((docs/[^)#]+)", text):  # every docs link has its page
        assert (README.parent / target).is_file(), target


@pytest.fixture(scope="module")
def namespace(
    demo_org: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    import duckdb
    import pandas

    import sfnotebook

    folder = tmp_path_factory.mktemp("readme")
    demo_org.write_env(folder / ".env")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("SFNOTEBOOK_CACHE_DIR", str(folder / "cache"))  # the rerun cache snippets
        org = sfnotebook.connect(backoff=0.01)
        payload = org.sf.query("SELECT Id, Account.Name, CreatedDate FROM Contact LIMIT 5")
        names: dict[str, Any] = {"sfnotebook": sfnotebook, "pandas": pandas, "duckdb": duckdb}
        if importlib.util.find_spec("dask") is not None:
            import dask.dataframe

            names["dask"] = dask
        if "not spark" not in (request.config.getoption("markexpr") or ""):
            # No pyspark or no Java here: the Spark lines are left out below.
            with contextlib.suppress(pytest.skip.Exception):
                names["spark"] = request.getfixturevalue("spark")  # tests/conftest.py
        yield {**names, "payload": payload}
        demo_org.set_faults()  # the demo-org snippet switches faults on
        org.close()


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i}")
def test_snippet_runs(index: int, namespace: dict[str, Any]) -> None:
    code = BLOCKS[index]
    for name in ENGINES:
        if name not in namespace:
            # Spark and Dask are extras (and Spark needs Java): without them only their
            # lines of a snippet are left out.
            pattern = rf"\w+\s*=\s*{name}\."
            code = "\n".join(line for line in code.splitlines() if not re.match(pattern, line))
    for name, module in ENGINES.items():
        if f"sfnotebook.{name}" in code and importlib.util.find_spec(module.split(".")[0]) is None:
            pytest.skip(f"{module} is not installed (pip install 'sfnotebook[{name}]')")
    if "sfnotebook.spark" in code and "spark" not in namespace:
        pytest.skip("no Spark session here (pyspark or a Java runtime is missing)")
    exec(compile(code, f"README.md block {index}", "exec"), namespace)  # noqa: S102


def test_the_panel_cell_shows_the_panel_and_the_next_cell_leaves_a_connection(
    demo_org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pasted as cells: the panel is the cell's last expression (Jupyter displays it), and the
    cell after it gives a connection, not ``None``."""
    import ast

    import sfnotebook
    from sfnotebook.notebook.widgets import LoginPanel

    at = next(i for i, b in enumerate(BLOCKS) if "login_panel(" in b)
    last = ast.parse(BLOCKS[at]).body[-1]
    assert isinstance(last, ast.Expr), "the panel is not the cell's last expression"
    demo_org.write_env(tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    cells: dict[str, Any] = {}
    exec(compile(BLOCKS[at], "panel cell", "exec"), cells)  # noqa: S102
    assert isinstance(eval(compile(ast.Expression(last.value), "shown", "eval"), cells), LoginPanel)  # noqa: S307
    exec(compile(BLOCKS[at + 1], "next cell", "exec"), cells)  # noqa: S102
    try:
        assert isinstance(cells["org"], sfnotebook.Connection)
    finally:
        cells["org"].close(revoke=False)
        sfnotebook.connection.set_default(None)


def test_the_opening_report_is_unambiguous_on_the_demo_org(demo_org: Any) -> None:
    from tests.conftest import connect_to

    named = set(re.findall(r'org\.report\("([^"]+)"', README.read_text(encoding="utf-8")))
    conn = connect_to(demo_org)
    try:
        listed = conn.reports()["name"].tolist()
    finally:
        conn.close(revoke=False)
    assert named
    for name in named:
        assert listed.count(name) == 1, name
