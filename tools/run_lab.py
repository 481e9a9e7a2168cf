"""``make lab``: JupyterLab on ``notebooks/`` with a demo org running behind it.

Starts a :class:`~sfnotebook_demo.DemoOrg`, writes ``.env.demo`` in the working directory
(the same file ``sfnotebook demo-org`` writes), and starts JupyterLab in ``notebooks/`` with the
demo's ``SF_*`` settings in its environment. Environment variables come before any ``.env`` in
sfnotebook's settings order, so the notebooks talk to the demo org without touching a real
``notebooks/.env`` you may keep there. Ctrl-C stops JupyterLab and the demo org.

This is a driver, not part of the demo server: it starts the server and a client process.

Usage::

    python -m tools.run_lab [--opportunities N] [-- extra JupyterLab arguments]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.run_demo import ROOT, kernel_environment, kernel_transport

__all__ = ["main"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run JupyterLab with the demo org until interrupted; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.run_lab")
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("lab_args", nargs="*", help="passed on to jupyter lab (after --)")
    args = parser.parse_args(argv)

    from sfnotebook_demo import DemoOrg

    # A SIGTERM (from a supervisor or `timeout`) stops JupyterLab too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    with DemoOrg(opportunities=args.opportunities) as demo:
        env_demo = Path.cwd() / ".env.demo"
        demo.write_env(env_demo)
        print(f"Demo org running at {demo.url}; settings in {env_demo}")
        print("JupyterLab starts in", args.notebooks, "(Ctrl-C stops both).", flush=True)
        # The kernels' transport as make demo's (no "running over TCP without encryption").
        transport = [f"--KernelManager.{k}={v}" for k, v in kernel_transport().items()]
        command = [sys.executable, "-m", "jupyter", "lab", *transport, *args.lab_args]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
            command.append("--allow-root")
        lab = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command, cwd=args.notebooks, env=kernel_environment(demo.env())
        )
        try:
            return lab.wait()
        except KeyboardInterrupt:
            lab.terminate()
            try:
                lab.wait(timeout=15)
            except subprocess.TimeoutExpired:
                lab.kill()
            return 0


if __name__ == "__main__":
    sys.exit(main())
