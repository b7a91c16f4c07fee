"""``python -m winfra.sim``: run a simulated Windows host, reset saved hosts, show counters.

    python -m winfra.sim serve --profile server2022 --port 5985 [--name NAME] [--tls]
    python -m winfra.sim reset [--name NAME]
    python -m winfra.sim counters [--name NAME]

``serve`` prints the WinRM URL and the account to use; the password is shown only with
``--show-password`` (it is the profile's, from ``winfra/sim/profiles/<profile>.yml``). It writes
the host's counters to ``<state dir>/<host>/counters.json`` every second and on exit, which is
what ``counters`` prints. The state directory is ``--state-dir``, else ``$WINSIM_STATE_DIR``,
else ``./.winsim``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

COUNTERS_FILE = "counters.json"


def _write_counters(path: Path, snapshot: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(snapshot, indent=1, sort_keys=True), "utf-8")
    tmp.replace(path)


def cmd_serve(args: argparse.Namespace) -> int:
    from winfra.sim.models.host import SimHost
    from winfra.sim.shell.executor import host_endpoint, host_users

    # Handlers first: a caller may signal as soon as it reads the banner, and a process started
    # from a non-interactive shell's background job inherits SIGINT ignored, so a signal that
    # arrives before this point would be lost and the server would run on.
    stop = threading.Event()

    def _stop(*_a: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    host = SimHost.load(args.name, profile=args.profile, state_dir=args.state_dir)
    endpoint = host_endpoint(host, port=args.port, tls=args.tls, bind=args.bind)
    users = host_users(host)
    print(f"winsim host {host.name} (profile {host.profile_name or args.profile})", flush=True)
    print(f"URL: {endpoint.url}", flush=True)
    if endpoint.ca_path is not None:
        print(f"CA certificate: {endpoint.ca_path}", flush=True)
    for user, password in users.items():
        shown = password if args.show_password else "(see the profile; --show-password prints it)"
        print(f"user: {user} password: {shown}", flush=True)
    auth = "NTLM with message encryption" + (", Basic" if endpoint.allow_basic else "")
    print(f"auth: {auth}; AllowUnencrypted={endpoint.allow_unencrypted}", flush=True)

    counters_path = host.dir / COUNTERS_FILE
    host.dir.mkdir(parents=True, exist_ok=True)
    try:
        while not stop.wait(1.0):
            _write_counters(counters_path, host.counters.snapshot())
    finally:
        _write_counters(counters_path, host.counters.snapshot())
        endpoint.stop()
        host.save()
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from winfra.sim.models.host import reset

    removed = reset(args.state_dir, args.name)
    print("removed: " + (", ".join(removed) if removed else "(nothing)"))
    return 0


def cmd_counters(args: argparse.Namespace) -> int:
    from winfra.sim.models.host import state_root

    root = state_root(args.state_dir)
    result: dict[str, Any] = {}
    if root.is_dir():
        for child in sorted(root.iterdir()):
            path = child / COUNTERS_FILE
            if path.is_file() and (args.name is None or child.name.lower() == args.name.lower()):
                result[child.name] = json.loads(path.read_text("utf-8"))
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m winfra.sim", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--state-dir", default=None, help="state directory (default $WINSIM_STATE_DIR or .winsim)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve one simulated host over WinRM")
    serve.add_argument("--profile", default="win11-devbox", help="profile name (winfra/sim/profiles/*.yml)")
    serve.add_argument("--name", default="winsim", help="host name (its state directory)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    serve.add_argument("--bind", default="127.0.0.1", help="address to listen on (default loopback)")
    serve.add_argument("--tls", action="store_true", help="HTTPS with a generated certificate")
    serve.add_argument("--show-password", action="store_true", help="print the profile's password")
    serve.set_defaults(func=cmd_serve)
    reset = sub.add_parser("reset", help="forget saved simulated hosts")
    reset.add_argument("--name", default=None, help="only this host")
    reset.set_defaults(func=cmd_reset)
    counters = sub.add_parser("counters", help="print the counters written by `serve`")
    counters.add_argument("--name", default=None, help="only this host")
    counters.set_defaults(func=cmd_counters)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
