"""The public surface: small, sorted, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

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


def test_import_does_not_pull_in_arrow_or_polars() -> None:
    code = (
        "import sys, sfnotebook; "
        "print(','.join(m for m in ('pyarrow', 'polars', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
