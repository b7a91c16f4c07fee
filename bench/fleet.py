"""Fleet benchmark: a converged run of ``deploys/docker_host.py`` over N simulated hosts.

    .venv/bin/python bench/fleet.py                 # N = 1, 10 and 50
    .venv/bin/python bench/fleet.py --hosts 1 10    # chosen sizes
    .venv/bin/python bench/fleet.py --hosts 50 --keep-state /tmp/fleet50

For each N: a fresh state directory, ``WINFRA_SIM_FLEET=N`` (inventories/sim.py then lists N
hosts cycling the four kinds devbox11, ctr2022, devbox10, ctr2025), one converging run
(``pyinfra -y inventories/sim.py deploys/docker_host.py``), then the measured converged run. Both
run the ordinary pyinfra CLI in a child process (bench/simrun.py), which writes the simulator's
per-host counters (winfra/sim/counters.py) when it exits.

Reported per N: wall time of the converged run, and per host the HTTP requests (authentication
included: the 401 round trips are requests too), WinRS commands, powershell.exe launches and
state changes (max and mean over the hosts, and per host kind).

Targets for a converged run (issue 7): at most 20 HTTP requests and at most 3 powershell.exe
launches per host, and 50 hosts take less than 5x the wall time of 1 host. The exit code is 1
when a measured target is missed (or a run failed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simrun import RunResult, run_pyinfra

MAX_REQUESTS = 20
MAX_LAUNCHES = 3
MAX_WALL_RATIO_50_TO_1 = 5.0
ARGS = ["-y", "inventories/sim.py", "deploys/docker_host.py"]


def _kind(name: str) -> str:
    return re.sub(r"-\d+$", "", name)


def _run(n: int, state_dir: Path, timeout: float) -> tuple[RunResult, RunResult]:
    env = {"WINFRA_SIM_FLEET": str(n)}
    first = run_pyinfra(ARGS, state_dir=state_dir, env=env, timeout=timeout)
    second = run_pyinfra(ARGS, state_dir=state_dir, env=env, timeout=timeout)
    return first, second


def _stats(values: list[int]) -> str:
    return f"max {max(values):3d}  mean {statistics.fmean(values):5.1f}"


def report(n: int, first: RunResult, second: RunResult) -> tuple[list[str], dict[str, Any]]:
    run = f"{second.run_s:.2f}s" if second.run_s is not None else "?"
    lines = [f"N = {n}: converging run {first.wall_s:.1f}s (rc {first.returncode}); converged run: "
             f"process {second.wall_s:.2f}s, pyinfra CLI {run} (rc {second.returncode})"]  # fmt: skip
    counters = second.counters
    figures: dict[str, Any] = {
        "n": n,
        "wall_s": second.wall_s,
        "run_s": second.run_s if second.run_s is not None else second.wall_s,
        "ok": second.returncode == 0,
    }
    if len(counters) != n:
        lines.append(f"  counters for {len(counters)} of {n} hosts (see the run output)")
    if not counters:
        return lines, figures
    req = [c["http_requests"] for c in counters.values()]
    cmds = [c["commands"] for c in counters.values()]
    ps = [c["powershell_launches"] for c in counters.values()]
    changes = [c["state_changes"] for c in counters.values()]
    lines.append(f"  per host: HTTP requests {_stats(req)}   (401s included: "
                 f"{sum(c['http_401'] for c in counters.values()) / len(counters):.1f}/host)")  # fmt: skip
    lines.append(f"            commands      {_stats(cmds)}")
    lines.append(f"            powershell    {_stats(ps)}")
    lines.append(f"            state changes {_stats(changes)}")
    kinds: dict[str, list[dict[str, Any]]] = {}
    for name, c in counters.items():
        kinds.setdefault(_kind(name), []).append(c)
    for kind, cs in sorted(kinds.items()):
        scripts: dict[str, int] = {}
        for c in cs:
            for script, count in c["scripts"].items():
                scripts[script] = scripts.get(script, 0) + count
        per = ", ".join(f"{k} {v / len(cs):g}" for k, v in sorted(scripts.items()))
        lines.append(
            f"  {kind:9s} x{len(cs):<3d} requests {max(c['http_requests'] for c in cs):3d}  commands "
            f"{max(c['commands'] for c in cs):2d}  powershell {max(c['powershell_launches'] for c in cs):2d}"
            f"  scripts/host: {per or '-'}"
        )
    figures.update(max_requests=max(req), max_launches=max(ps), max_state_changes=max(changes))
    return lines, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hosts", type=int, nargs="+", default=[1, 10, 50], help="fleet sizes (default 1 10 50)"
    )
    parser.add_argument("--keep-state", type=Path, default=None, help="keep state under this directory")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per pyinfra run")
    args = parser.parse_args()

    results: dict[int, dict[str, Any]] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="winfra-fleet-") as tmp:
        base = args.keep_state or Path(tmp)
        for n in args.hosts:
            state_dir = base / f"fleet-{n}"
            first, second = _run(n, state_dir, args.timeout)
            lines, figures = report(n, first, second)
            print("\n".join(lines), flush=True)
            results[n] = figures
            if first.returncode or second.returncode:
                failed = True
                print(second.output[-3000:] if second.returncode else first.output[-3000:])

    print("\nTargets (converged run):")
    for n, f in results.items():
        if "max_requests" not in f or not f["ok"]:
            print(f"  N={n:<3d} not measured: a run failed (output above)")
            continue
        ok_req = f["max_requests"] <= MAX_REQUESTS
        ok_ps = f["max_launches"] <= MAX_LAUNCHES
        failed |= not (ok_req and ok_ps)
        print(f"  N={n:<3d} HTTP requests/host <= {MAX_REQUESTS}: {'ok' if ok_req else 'MISSED'} "
              f"(max {f['max_requests']});  powershell/host <= {MAX_LAUNCHES}: "
              f"{'ok' if ok_ps else 'MISSED'} (max {f['max_launches']})")  # fmt: skip
    if 1 in results and 50 in results and results[1]["ok"] and results[50]["ok"]:
        # "process" includes the @winsim connector stopping its 50 in-process endpoints at exit,
        # which only the simulator has; "pyinfra CLI" ends when the CLI returns.
        for key, label in (("wall_s", "process"), ("run_s", "pyinfra CLI")):
            ratio = results[50][key] / results[1][key]
            ok = ratio < MAX_WALL_RATIO_50_TO_1
            failed |= not ok
            print(f"  wall time 50 hosts / 1 host ({label}) = {results[50][key]:.2f}s / "
                  f"{results[1][key]:.2f}s = {ratio:.1f}x (< {MAX_WALL_RATIO_50_TO_1:g}x): "
                  f"{'ok' if ok else 'MISSED'}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
