"""The public surface: small, sorted, and cheap to import."""

from __future__ import annotations

import inspect
import pydoc
import re
import subprocess
import sys
from typing import Any

import pytest

import sfnotebook


def test_all_is_sorted_and_resolves() -> None:
    assert list(sfnotebook.__all__) == sorted(sfnotebook.__all__)
    for name in sfnotebook.__all__:
        assert hasattr(sfnotebook, name), name


def test_import_does_not_pull_in_notebook_or_dataframe_stacks() -> None:
    code = (
        "import sys, sfnotebook; "
        "bad = [m for m in ('IPython', 'ipywidgets', 'pandas', 'simple_salesforce') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# The verbs an analyst types, where they type them: every keyword visible to
# inspect.signature (Shift+Tab, Tab completion) and help() showing parameters and an example.
def _verbs() -> list[tuple[str, Any]]:
    org = sfnotebook.Connection.__new__(sfnotebook.Connection)  # no I/O: only attribute access
    return [
        ("org.query", org.query),
        ("org.query_iter", org.query_iter),
        ("org.report", org.report),
        ("org.reports", org.reports),
        ("org.describe_report", org.describe_report),
        ("org.extract", org.extract),
        ("org.describe", org.describe),
        ("sfnotebook.query", sfnotebook.query),
        ("sfnotebook.report", sfnotebook.report),
        ("sfnotebook.extract", sfnotebook.extract),
        ("sfnotebook.connect", sfnotebook.connect),
        ("org.job_results", org.job_results),
        ("sfnotebook.records_frame", sfnotebook.records_frame),
        ("sfnotebook.report_details", sfnotebook.report_details),
        ("sfnotebook.report_aggregates", sfnotebook.report_aggregates),
        ("sfnotebook.pivot_matrix", sfnotebook.pivot_matrix),
        ("org.dashboards", org.dashboards),
        ("org.dashboard", org.dashboard),
        ("sfnotebook.dashboard", sfnotebook.dashboard),
        ("org.objects", org.objects),
        ("org.fields", org.fields),
        ("org.picklist", org.picklist),
        ("org.limits", org.limits),
        ("sfnotebook.objects", sfnotebook.objects),
        ("sfnotebook.fields", sfnotebook.fields),
        ("sfnotebook.picklist", sfnotebook.picklist),
        ("sfnotebook.to_excel", sfnotebook.to_excel),
        ("sfnotebook.to_csv", sfnotebook.to_csv),
        ("sfnotebook.to_clipboard", sfnotebook.to_clipboard),
    ]


KEYWORDS = {
    "org.query": {"soql", "include_deleted", "progress", "dtypes", "batch_size", "children"},
    "org.query_iter": {"soql", "chunk_rows", "dtypes"},
    "org.report": {"report", "filters", "boolean_filter", "column_names", "progress"},
    "org.extract": {"soql", "to", "overwrite", "dtypes", "max_records", "concurrency"},
    "sfnotebook.query": {"soql", "include_deleted", "progress", "dtypes", "batch_size"},
    "sfnotebook.report": {"report", "filters", "column_names"},
    "sfnotebook.extract": {"soql", "to", "overwrite", "dtypes"},
    "org.dashboard": {"dashboard", "refresh", "filters", "running_user", "output"},
    "sfnotebook.dashboard": {"dashboard", "refresh", "filters"},
    "org.objects": {"search", "counts"},
    "org.fields": {"sobject", "search"},
    "org.picklist": {"sobject", "field"},
    "org.limits": {"as_dict"},
    "sfnotebook.to_excel": {"result", "path", "tz", "sheet_name"},
    "sfnotebook.to_csv": {"result", "path", "tz"},
    "sfnotebook.to_clipboard": {"result", "tz"},
}


@pytest.mark.parametrize("name", [n for n, _ in _verbs()])
def test_verbs_show_their_keywords_and_docs_where_they_are_called(name: str) -> None:
    verb = dict(_verbs())[name]
    params = inspect.signature(verb).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{name} takes **kwargs"
    assert KEYWORDS.get(name, set()) <= set(params), name
    assert not {"conn", "self", "org"} & set(params), f"{name} shows its connection argument"
    text = pydoc.render_doc(verb, renderer=pydoc.plaintext)
    if params:
        assert "Parameters\n" in text and "----------" in text, name
    assert "Examples" in text and ">>> " in text, name


@pytest.mark.parametrize("name", [n for n, _ in _verbs()])
def test_no_any_in_public_signatures(name: str) -> None:
    verb = dict(_verbs())[name]
    signature = inspect.signature(verb)
    annotations = [str(p.annotation) for p in signature.parameters.values()]
    annotations.append(str(signature.return_annotation))
    assert not [a for a in annotations if re.search(r"\bAny\b", a)], (name, annotations)


def test_the_connection_constructor_does_no_io() -> None:
    from sfnotebook.settings import Settings

    settings = Settings(
        domain_url="https://nowhere.invalid", consumer_key="k" * 20, consumer_secret="s" * 20
    )
    conn = sfnotebook.Connection(settings)  # an unreachable host: any I/O would raise
    assert "not logged in" in repr(conn)
    assert "s" * 20 not in repr(conn)
    with pytest.raises(sfnotebook.SfNotebookError, match="not logged in"):
        conn.token  # noqa: B018


def test_import_does_not_pull_in_arrow_or_polars() -> None:
    code = (
        "import sys, sfnotebook; "
        "print(','.join(m for m in ('pyarrow', 'polars', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
