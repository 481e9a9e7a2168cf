"""``make demo``: the quickstart notebook, executed headlessly against a fresh demo org.

Starts a :class:`~sfnotebook_demo.DemoOrg`, writes its ``.env`` into ``build/demo/``, prints
who the client is connected as and the org's API limits, executes
``notebooks/quickstart.ipynb`` there with nbclient (the ``python3`` kernel of this
interpreter), writes the executed notebook and an HTML copy next to it, and prints their paths
and the first rows of every DataFrame the notebook displayed.

This is a driver, not part of the demo server: it uses both the demo org and the client.

Usage::

    python -m tools.run_demo [--notebook notebooks/quickstart.ipynb] [--out build/demo]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "dataframe_previews",
    "execute_notebook",
    "kernel_environment",
    "kernel_transport",
    "main",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
DEFAULT_OUT = ROOT / "build" / "demo"


def kernel_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment for a kernel talking to the demo org.

    The developer's own ``SF_*`` variables are dropped so a real org's settings can never mix
    with the demo's; the demo's settings are set explicitly (they win over any ``.env``).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(settings)
    # A headless kernel must not try to open windows; the inline backend renders PNGs.
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return env


def kernel_transport() -> dict[str, str]:
    """How the kernel manager should talk to its kernels: encrypted, so ipykernel stays quiet.

    ipykernel (>= 7) logs "Kernel is running over TCP without encryption ..." at start-up
    (``IPKernelApp.init_sockets``) unless the kernel manager provisions CurveZMQ keys
    (jupyter_client's ``KernelManager.transport_encryption``, default ``"disabled"``) or the
    transport is IPC. The warning is right: on TCP without Curve the code and outputs (a
    notebook's DataFrames) cross the loopback in clear. So the demo asks for Curve where pyzmq
    has it (its wheels bundle libsodium), else for IPC sockets (POSIX only, in the kernel's
    0700 runtime folder); where neither is possible the warning stays, because it is true.

    Returns ``{trait: value}`` for jupyter_client's ``KernelManager`` (also read by
    JupyterLab's per-kernel managers, its subclasses).
    """
    import zmq

    if zmq.has("curve"):
        return {"transport_encryption": "required"}
    if os.name == "posix" and zmq.has("ipc"):
        return {"transport": "ipc"}
    return {}


def execute_notebook(
    source: Path,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: int = 600,
    kernel_name: str = "python3",
) -> Any:
    """Execute a notebook top to bottom in a fresh kernel and return the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first cell that fails.
    """
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(cwd)}},
        config=Config({"KernelManager": kernel_transport()}),
    )
    client.execute(env=dict(env), cwd=str(cwd))
    return nb


def dataframe_previews(nb: Any, *, rows: int = 5) -> list[tuple[int, str, str]]:
    """``(cell number, first source line, first rows)`` of each DataFrame the notebook showed.

    A DataFrame shows as an output with an HTML ``<table class="dataframe">``; its
    ``text/plain`` form is pandas' own text, of which the header and ``rows`` rows are kept.
    """
    previews = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if 'class="dataframe' not in str(data.get("text/html", "")):
                continue
            text = str(data.get("text/plain", ""))
            lines = text.splitlines()
            head = "\n".join(lines[: rows + 1])
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            previews.append((number, first, head))
    return previews


def _count_images(nb: Any) -> int:
    return sum(
        1
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )


# A Salesforce session id (the demo org issues the same shape): org id, "!", opaque part.
_SESSION_ID = re.compile(r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}")


def _scan_for_secrets(paths: Sequence[Path], secrets: Sequence[str]) -> None:
    """Delete and refuse outputs holding a secret or any session id (the kernel's included)."""
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(s and s in text for s in secrets) or _SESSION_ID.search(text):
            for p in paths:
                p.unlink(missing_ok=True)
            raise SystemExit(f"refusing to keep {path}: it contains a secret value")


def _print_identity(settings: Mapping[str, str]) -> list[str]:
    """Connect as the notebook will, print who we are and the API limits; return the token."""
    import sfnotebook

    org = sfnotebook.connect(
        domain=settings["SF_DOMAIN"],
        consumer_key=settings["SF_CONSUMER_KEY"],
        consumer_secret=settings["SF_CONSUMER_SECRET"],
        ca_bundle=settings.get("SF_CA_BUNDLE"),
        env_file=False,
        set_default=False,
    )
    user = org.username  # the identity is asked on first use: now, so the repr names the user
    print(f"Connected: {org!r}")
    print(f"  user      {user} ({org.user_id})")
    print(f"  org       {org.org_id} at {org.instance_url}")
    print(f"  API       v{org.api_version}")
    limits = org.limits()
    print("  limits    (remaining / max)")
    for name in sorted(limits):
        value = limits[name]
        print(f"    {name:<36} {value['Remaining']:>12,} / {value['Max']:>12,}")
    token = org.token.access_token.reveal()
    org.close(revoke=True)
    return [token]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.run_demo")
    parser.add_argument("--notebook", type=Path, default=DEFAULT_NOTEBOOK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)

    from nbclient.exceptions import CellExecutionError

    from sfnotebook_demo import DemoOrg

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with DemoOrg(opportunities=args.opportunities) as demo:
        print(f"Demo org running at {demo.url}")
        env_file = out / ".env"
        demo.write_env(env_file)
        print(f"Settings written to {env_file}")
        settings = demo.env()
        tokens = _print_identity(settings)

        print(f"\nExecuting {args.notebook} ...")
        try:
            nb = execute_notebook(
                args.notebook, cwd=out, env=kernel_environment(settings), timeout=args.timeout
            )
        except CellExecutionError as exc:
            print(f"The notebook failed:\n{exc}", file=sys.stderr)
            return 1
        elapsed = time.perf_counter() - started

    import nbformat
    from nbconvert import HTMLExporter

    executed = out / args.notebook.name
    nbformat.write(nb, executed)
    html_path = executed.with_suffix(".html")
    body, _ = HTMLExporter().from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")
    _scan_for_secrets([executed, html_path], [settings["SF_CONSUMER_SECRET"], *tokens])

    previews = dataframe_previews(nb)
    print(
        f"\nExecuted in {elapsed:.1f} s: {len(previews)} DataFrames, {_count_images(nb)} chart(s)."
    )
    for number, first_line, head in previews:
        print(f"\n--- cell {number}: {first_line}")
        print(head)
    print("\nExecuted notebook:", executed)
    print("HTML copy:        ", html_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
