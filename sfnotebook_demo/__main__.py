"""Run the demo org in the foreground: ``python -m sfnotebook_demo`` (or ``sfnotebook demo-org``).

``python -m sfnotebook_demo serve --port 0 --state-dir D`` is the form :class:`DemoOrg` uses
for its subprocess mode: it reads its secrets from ``$SFNOTEBOOK_DEMO_CONFIG`` and writes
``D/server.json`` (URL, port, CA bundle path) once it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from sfnotebook_demo.org import CONFIG_ENV, SERVER_FILE

__all__ = ["add_run_arguments", "main", "run", "serve"]

DEFAULT_STATE_DIR = ".sfnotebook-demo"
DEFAULT_ENV_FILE = ".env.demo"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``python -m sfnotebook_demo`` and ``sfnotebook demo-org``."""
    parser.add_argument("--port", type=int, default=8443, help="TCP port (0: any free port)")
    parser.add_argument(
        "--opportunities", type=int, default=50_000, help="Opportunity rows in the data set"
    )
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=None,
        help="seconds an access token lives (default 7200)",
    )
    parser.add_argument(
        "--env-file",
        default=DEFAULT_ENV_FILE,
        help=f"settings file written for sfnotebook.connect() (default {DEFAULT_ENV_FILE})",
    )
    parser.add_argument(
        "--state-dir",
        default=DEFAULT_STATE_DIR,
        help=f"where the CA bundle is kept (default {DEFAULT_STATE_DIR}/ here)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the generated data")
    parser.add_argument(
        "--gzip-level",
        type=int,
        default=1,
        choices=range(10),
        metavar="0-9",
        help="zlib level of gzip responses to clients that accept gzip (0: never compress)",
    )
    parser.add_argument(
        "--faults",
        type=_json_object,
        default=None,
        metavar="JSON",
        help='fault options, e.g. \'{"error_rate": 0.05, "latency": 0.2}\' (see FaultConfig)',
    )
    parser.add_argument(
        "--dialect",
        type=_dialect,
        default=None,
        metavar="NAME=VALUE,...",
        help="how the org answers where Salesforce's behaviour is unknown, e.g. "
        "report_timeout_answer=timeout-code (see sfnotebook_demo.dialect.Dialect)",
    )


def _dialect(text: str) -> dict[str, Any]:
    from sfnotebook_demo.dialect import Dialect

    try:
        return Dialect.parse(text).as_dict()
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("a JSON object is required")
    return value


def _write_private(path: Path, text: str) -> None:
    """Write a file only the current user can read, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _stop_when_orphaned(server: Any) -> None:
    """Shut the server down if the parent process dies (a crashed benchmark or test run)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        server.httpd.shutdown()

    threading.Thread(target=watch, name="demo-org-parent-watch", daemon=True).start()


def run(args: argparse.Namespace) -> int:
    """Start the demo org in the foreground, write the env file, serve until Ctrl-C."""
    from sfnotebook_demo.server import DemoServer

    state_dir = Path(args.state_dir).resolve()
    try:
        server = DemoServer(
            port=args.port,
            state_dir=state_dir,
            opportunities=args.opportunities,
            token_lifetime=args.token_lifetime,
            faults=args.faults,
            dialect=args.dialect,
            seed=args.seed,
            gzip_level=args.gzip_level,
        )
    except OSError as exc:
        print(f"cannot start the demo org on port {args.port}: {exc}", file=sys.stderr)
        print("choose another port with --port (0 picks a free one)", file=sys.stderr)
        return 1
    except (TypeError, ValueError) as exc:
        print(f"cannot start the demo org: {exc}", file=sys.stderr)
        return 2
    app = server.apps["ok"]
    env_path = Path(args.env_file).resolve()
    _write_private(
        env_path,
        "# Written by `sfnotebook demo-org`; valid while that demo org runs.\n"
        f"SF_DOMAIN={server.domain}\n"
        f"SF_CONSUMER_KEY={app.consumer_key}\n"
        f"SF_CONSUMER_SECRET={app.consumer_secret}\n"
        f"SF_CA_BUNDLE={server.ca_bundle}\n",
    )
    print(
        f"sfnotebook demo org running at {server.url}\n"
        f"  login host (acts like login.salesforce.com): {server.login_domain}\n"
        f"  CA bundle: {server.ca_bundle}\n"
        f"  settings:  {env_path}  (SF_DOMAIN, SF_CONSUMER_KEY, SF_CONSUMER_SECRET, SF_CA_BUNDLE)\n"
        "\n"
        "Use it from Python:\n"
        "    import sfnotebook\n"
        f"    org = sfnotebook.connect(env_file={str(env_path)!r})\n"
        "or from a shell:\n"
        f"    set -a; . {env_path}; set +a\n"
        "\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    _stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping the demo org", flush=True)
    finally:
        server.stop()
    return 0


def serve(args: argparse.Namespace) -> int:
    """The subprocess form: secrets from the environment, ``server.json`` in the state dir."""
    from sfnotebook_demo.rest.oauth import ConnectedApp, make_apps
    from sfnotebook_demo.server import DemoServer

    config: dict[str, Any] = json.loads(os.environ.pop(CONFIG_ENV, "") or "{}")
    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if config.get("apps"):
        apps = {
            name: ConnectedApp(name, key, secret, name)
            for name, (key, secret) in config["apps"].items()
        }
    else:
        apps = make_apps()
    features: dict[str, Any] = {}
    if args.features is not None:
        features["features"] = tuple(f for f in args.features.split(",") if f)
    server = DemoServer(
        port=args.port,
        state_dir=state_dir,
        opportunities=args.opportunities,
        token_lifetime=args.token_lifetime,
        faults=config.get("faults") or None,
        dialect=config.get("dialect") or None,
        apps=apps,
        admin_key=config.get("admin_key"),
        seed=args.seed,
        gzip_level=args.gzip_level,
        **features,
    )
    info: dict[str, Any] = {
        "url": server.url,
        "port": server.port,
        "domain": server.domain,
        "login_domain": server.login_domain,
        "ca_bundle": str(server.ca_bundle),
        "org_id": server.org.org_id,
        "user_id": server.user.id,
        "pid": os.getpid(),
    }
    if not config.get("apps"):
        # Started by hand: whoever reads the state dir needs the credentials (file is 0600).
        info["apps"] = {n: [a.consumer_key, a.consumer_secret] for n, a in apps.items()}
        info["admin_key"] = server.admin_key
    _write_private(state_dir / SERVER_FILE, json.dumps(info, indent=2))
    print(f"demo org listening at {server.url}", flush=True)
    _stop_on_sigterm()
    _stop_when_orphaned(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        (state_dir / SERVER_FILE).unlink(missing_ok=True)
    return 0


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    prog = prog or os.environ.get("SFNOTEBOOK_DEMO_PROG") or "python -m sfnotebook_demo"
    parser = argparse.ArgumentParser(
        prog=prog, description="Run the sfnotebook demo org (a local Salesforce stand-in)."
    )
    add_run_arguments(parser)
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve", help="machine form used by DemoOrg(subprocess=True)")
    serve_parser.add_argument("--port", type=int, default=0)
    serve_parser.add_argument("--state-dir", required=True)
    serve_parser.add_argument("--opportunities", type=int, default=50_000)
    serve_parser.add_argument("--token-lifetime", type=float, default=None)
    serve_parser.add_argument("--seed", type=int, default=None)
    serve_parser.add_argument("--gzip-level", type=int, default=1, choices=range(10))
    serve_parser.add_argument(
        "--features", default=None, help="comma-separated feature modules (default: all)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m sfnotebook_demo``."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
