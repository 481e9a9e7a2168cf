"""The ``sfnotebook`` console command.

Sub-commands:

``sfnotebook demo-org``
    Run the local demo org in the foreground and write ``.env.demo``.

Importing this module is cheap (argparse only); each sub-command imports what it needs.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["build_parser", "main"]


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
    )
    # The option list is the demo package's, but importing it here would pull nothing heavy:
    # sfnotebook.demo's __init__ uses the standard library only.
    from .demo.__main__ import add_run_arguments

    add_run_arguments(demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``sfnotebook`` command; the process exit status.

    Parameters
    ----------
    argv
        Arguments without the program name (``sys.argv[1:]`` when None).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo-org":
        from .demo.__main__ import run

        return run(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
