"""The ``sfnotebook`` console command.

Sub-commands:

``sfnotebook demo-org``
    Run the local demo org in the foreground and write ``.env.demo``. The demo org is its own
    package (``sfnotebook_demo``) that the client never imports, so this command hands the
    process over to ``python -m sfnotebook_demo`` with the same arguments.

``sfnotebook doctor``
    Connect with the usual settings (``.env``, the environment) and probe the org read-only:
    API versions, the user's permissions, the limits sfnotebook spends, what the Reports and
    Bulk APIs allow, and which of Salesforce's undocumented behaviours this org shows. States
    its cost in API calls first; ``--json`` prints the findings as JSON.

Importing this module is cheap (argparse only); each sub-command imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

__all__ = ["build_parser", "main"]

DEMO_MODULE = "sfnotebook_demo"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sfnotebook`` command."""
    parser = argparse.ArgumentParser(
        prog="sfnotebook",
        description="Salesforce SOQL, reports and Bulk API 2.0 results as pandas DataFrames.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo-org",
        help="run the local demo org (a Salesforce stand-in on https://127.0.0.1)",
        description="Run the local demo org in the foreground and write a ready-to-use "
        ".env.demo in the working directory. Ctrl-C stops it.",
        add_help=False,  # `sfnotebook demo-org --help` is the demo package's own help
    )
    del demo  # its arguments are parsed by the demo package (see main)
    doctor = sub.add_parser(
        "doctor",
        help="probe a Salesforce org read-only and print what it supports",
        description="Connect with the usual settings and probe the org read-only; the "
        "findings are kept in the user's cache for sfnotebook to use.",
    )
    doctor.add_argument("--env-file", default=None, help="settings file (default: nearest .env)")
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument("--no-cache", action="store_true", help="do not keep the findings")
    return parser


def _run_doctor(args: argparse.Namespace) -> int:
    """Connect, probe, print; exit 1 with the typed error's message when that fails."""
    import json

    from sfnotebook._doctor import doctor
    from sfnotebook.connection import connect
    from sfnotebook.errors import SfNotebookError

    try:
        org = connect(env_file=args.env_file, set_default=False)
    except SfNotebookError as exc:
        print(f"sfnotebook doctor: cannot connect: {exc}", file=sys.stderr)
        return 1
    try:
        announce = None if args.json else print
        report = doctor(org, cache=not args.no_cache, announce=announce)
    finally:
        org.close(revoke=False)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report)
    return 0


def _run_demo_org(args: list[str]) -> int:
    """Become ``python -m sfnotebook_demo <args>`` (a child process where exec is unavailable)."""
    cmd = [sys.executable, "-m", DEMO_MODULE, *args]
    env = {**os.environ, "SFNOTEBOOK_DEMO_PROG": "sfnotebook demo-org"}
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(sys.executable, cmd, env)  # noqa: S606 - our own interpreter and module
    try:
        return subprocess.call(cmd, env=env)  # noqa: S603 - our own interpreter and module
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``sfnotebook`` command; the process exit status.

    Parameters
    ----------
    argv
        Arguments without the program name (``sys.argv[1:]`` when None).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["demo-org"]:
        return _run_demo_org(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return _run_doctor(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
