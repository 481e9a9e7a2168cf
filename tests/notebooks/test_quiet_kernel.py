"""``make demo`` and ``make lab`` start kernels that print no warning the user did not cause.

ipykernel logs "Kernel is running over TCP without encryption ..." at start-up unless the
kernel manager provisions CurveZMQ keys or uses IPC (issue 14, item 12). The kernel's stderr
is this process's, so the warning would land in ``capfd``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tools.run_demo import execute_notebook, kernel_transport  # noqa: E402

pytestmark = pytest.mark.notebook


def test_the_kernel_transport_is_encrypted_or_local() -> None:
    import zmq

    transport = kernel_transport()
    if zmq.has("curve"):
        assert transport == {"transport_encryption": "required"}
    else:
        assert transport in ({"transport": "ipc"}, {})


def test_a_demo_kernel_starts_without_the_tcp_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "one.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    nbformat.write(nb, source)
    executed = execute_notebook(source, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    out = capfd.readouterr()
    assert "without encryption" not in out.err + out.out
    assert "WARNING" not in out.err
