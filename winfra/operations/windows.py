"""Windows features, preflight checks and reboots.

Operations:

* :func:`feature` - optional features on a client, roles on Windows Server, several in one DISM
  call; ``EnablePending`` counts as present (with a reboot pending).
* :func:`reboot` - controller-driven restart: boot id, ``shutdown.exe /r``, wait with backoff
  until WinRM answers, the boot id changed and the host is ready.
* :func:`reboot_if_needed` - at most one reboot per host per run, only for a reason this run
  caused or that blocks the next steps; the noisy PendingFileRenameOperations never counts.
* :func:`requirements` - the preflight (``winfra.preflight``): fails the host with the fix, and
  changes nothing, when it cannot get what the deploy asks for.

Bookkeeping for one run lives in ``host.connector_data`` (it lasts for the run and survives
reconnects): ``winfra_features_changed`` (names this run enabled or disabled),
``winfra_features_required`` (names the deploy wants present), ``winfra_reboots`` (restarts
issued this run), ``winfra_reboot`` (the boot id before the current restart) and
``winfra_connect_timeout`` (the connector's connect timeout, lowered while waiting for a reboot).

Host-specific problems (Hyper-V on Home, a removed payload without a source, a failed preflight)
fail only that host: the operation yields a step that logs the problem and reports failure, so
pyinfra removes the host from the run and the others carry on. Mistakes in the deploy code (an
unknown feature name, a bad argument) raise ``OperationValueError`` before anything runs.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Generator, Iterable, Iterator
from typing import Any

import gevent
from pyinfra import host, logger
from pyinfra.api import FunctionCommand, StringCommand, operation
from pyinfra.api.exceptions import ConnectError, OperationValueError

from winfra.facts.host import HostState
from winfra.facts.windows import (
    FEATURE_DISABLE_PENDING,
    FEATURE_ENABLE_PENDING,
    FEATURE_ENABLED,
    FEATURE_PAYLOAD_REMOVED,
    ROLE_INSTALL_PENDING,
    ROLE_INSTALLED,
    ROLE_REMOVED,
    OptionalFeatures,
    PendingReboot,
    ServerFeatures,
    WindowsInfo,
)
from winfra.features import FEATURES, OPTIONAL, FeatureNameError, FeatureTarget, expand_aliases, resolve
from winfra.operations._steps import fail_host, run_script
from winfra.powershell.scripts import render_script
from winfra.preflight import Wants, check, failure_message, rule_filtered_admin_token, wants_for_features

FEATURES_CHANGED = "winfra_features_changed"
FEATURES_REQUIRED = "winfra_features_required"
REBOOTS = "winfra_reboots"
REBOOT_RECORD = "winfra_reboot"
CONNECT_TIMEOUT = "winfra_connect_timeout"

# dism.exe / ERROR_SUCCESS_REBOOT_REQUIRED: success, reboot needed (windows-facts.md D.1).
EXIT_REBOOT_REQUIRED = 3010
WINDOWS_UPDATE = "windows-update"
# shutdown.exe limits (https://learn.microsoft.com/windows-server/administration/windows-commands/shutdown).
SHUTDOWN_MAX_DELAY = 315_360_000
SHUTDOWN_MAX_COMMENT = 512
# shutdown.exe return codes (anchors-and-winrm.md section 1.6).
RC_SHUTDOWN_IN_PROGRESS = 1115


class RebootTimeoutError(TimeoutError):
    """The host did not come back (or not become ready) within the reboot timeout."""


class RebootProbeError(OSError):
    """A boot-state probe got no usable answer (the host is still down or half up)."""


# =============================================================================================
# Shared helpers
# =============================================================================================


def run_record(key: str) -> set[str]:
    """The set of feature names this run keeps under ``host.connector_data[key]`` (see above)."""
    value = host.connector_data.get(key)
    if not isinstance(value, set):
        value = set(value or ())
        host.connector_data[key] = value
    return value


def _feature_names(features: str | Iterable[str], operation: str) -> tuple[list[str], list[str]]:
    """``(names, logical feature keys)`` of user-given ``features``; an unknown name is a deploy
    mistake, raised before any host access."""
    names = [features] if isinstance(features, str) else list(features)
    try:
        return names, expand_aliases(names, None)
    except FeatureNameError as exc:
        raise OperationValueError(f"{host.name}: {operation}: {exc}") from exc


# =============================================================================================
# windows.feature
# =============================================================================================


def _validate_source(source: Any) -> str | None:
    if source is None:
        return None
    if not isinstance(source, str) or not source.strip() or "\x00" in source:
        raise OperationValueError(
            f"{host.name}: windows.feature source={source!r} is not valid; give a path to a Windows image "
            f"or SxS folder, or {WINDOWS_UPDATE!r} to let DISM use Windows Update"
        )
    return source.strip()


def _feature_state(target: FeatureTarget, optional: dict[str, Any], roles: dict[str, Any]) -> Any:
    return (optional if target.kind == OPTIONAL else roles).get(target.name)


def _is_present(target: FeatureTarget, state: Any) -> bool:
    if target.kind == OPTIONAL:
        return state in (FEATURE_ENABLED, FEATURE_ENABLE_PENDING)
    return state in (ROLE_INSTALLED, ROLE_INSTALL_PENDING)


def _is_pending(state: Any) -> bool:
    return isinstance(state, str) and state.endswith("Pending")


def _payload_removed(target: FeatureTarget, state: Any) -> bool:
    return state == (FEATURE_PAYLOAD_REMOVED if target.kind == OPTIONAL else ROLE_REMOVED)


@operation()
def feature(
    features: str | Iterable[str], present: bool = True, source: str | None = None
) -> Generator[Any, Any, None]:
    """
    Enable (or disable) Windows features: optional features on a client, roles on Windows Server.

    + features: a name or a list of names. Accepted: ``hyper-v`` (client: Microsoft-Hyper-V-All
      and Microsoft-Hyper-V; Server: the Hyper-V role with management tools), ``containers``, ``wsl``/``wsl2``
      (VirtualMachinePlatform, plus Microsoft-Windows-Subsystem-Linux before Windows 11 build
      22000, as ``wsl --install`` does), ``VirtualMachinePlatform``,
      ``Microsoft-Windows-Subsystem-Linux``, ``HypervisorPlatform``, ``Microsoft-Hyper-V``.
      An unknown name is an error before anything runs.
    + present: True to enable/install, False to disable/uninstall.
    + source: where DISM finds a removed payload (state ``DisabledWithPayloadRemoved`` /
      ``Removed``): a path to a Windows image or SxS folder, or ``"windows-update"`` to let DISM
      use Windows Update. Without it such a feature is an error for that host.

    All changes go in one ``Enable-WindowsOptionalFeature -All -NoRestart`` and/or one
    ``Install-WindowsFeature -IncludeManagementTools`` call (never ``-Restart``); exit code 3010
    means done with a reboot needed. ``EnablePending``/``InstallPending`` count as present; use
    ``windows.reboot_if_needed`` afterwards. Hyper-V and containers on Windows Home fail the host.

    **Example:**

    .. code:: python

        windows.feature(name="WSL2 platform and Hyper-V", features=["wsl", "hyper-v"])
        windows.reboot_if_needed()
    """
    names, _keys = _feature_names(features, "windows.feature")
    if not names:
        raise OperationValueError(f"{host.name}: windows.feature needs at least one feature name")
    source = _validate_source(source)

    info = host.get_fact(WindowsInfo)
    targets = resolve(names, info)
    what = ", ".join(t.name for t in targets)

    if present and info.get("is_home"):
        blocked = [t for t in targets if not FEATURES[t.feature].available_on_home]
        if blocked:
            yield fail_host(
                f"{host.name}: {', '.join(t.name for t in blocked)} "
                f"{'is' if len(blocked) == 1 else 'are'} not available on "
                f"{info.get('caption') or 'Windows Home'} (edition {info.get('edition')}). Fix: use Windows "
                "Pro, Enterprise or Education, or drop it (WSL2 needs only VirtualMachinePlatform) "
                "[windows-facts.md D.2, E]"
            )
            return

    optional = host.get_fact(OptionalFeatures)
    roles = host.get_fact(ServerFeatures) if any(t.kind != OPTIONAL for t in targets) else {}
    token = rule_filtered_admin_token(info, Wants(), None)
    if token is not None:
        yield fail_host(f"{host.name}: cannot manage Windows features: {token}")
        return

    if present:
        run_record(FEATURES_REQUIRED).update(t.name for t in targets)

    to_change: list[FeatureTarget] = []
    notes: list[str] = []
    for target in targets:
        state = _feature_state(target, optional, roles)
        if state is None:
            # The whole host state is the same cached command: reading it costs no round trip.
            query_error = ((host.get_fact(HostState) or {}).get("features") or {}).get("error")
            if query_error:
                yield fail_host(
                    f"{host.name}: could not read the state of {target.name}: {query_error}. Fix: check "
                    "that DISM works on the host (Get-WindowsOptionalFeature -Online) and run again"
                )
                return
            if not present:
                notes.append(f"{target.name} (not available on this host)")
                continue
            yield fail_host(
                f"{host.name}: the {'optional feature' if target.kind == OPTIONAL else 'server role'} "
                f"{target.name} does not exist on {info.get('caption') or 'this host'} "
                f"(build {info.get('build')}). Fix: drop it from the deploy for this host"
            )
            return
        if present:
            if _is_present(target, state):
                notes.append(f"{target.name} ({state}{', reboot pending' if _is_pending(state) else ''})")
                continue
            if _payload_removed(target, state) and source is None:
                yield fail_host(
                    f"{host.name}: {target.name} is {state}: its payload was removed from the host. Fix: "
                    f"pass source='<path to a Windows image or SxS folder>' or source={WINDOWS_UPDATE!r} "
                    "to windows.feature [windows-facts.md D.1]"
                )
                return
        elif not _is_present(target, state) or state == FEATURE_DISABLE_PENDING:
            notes.append(f"{target.name} ({state})")
            continue
        to_change.append(target)

    if not to_change:
        host.noop(
            f"Windows features already {'present' if present else 'absent'}: {', '.join(notes) or what}"
        )
        return

    params = {
        "present": bool(present),
        "optional": [t.name for t in to_change if t.kind == OPTIONAL],
        "roles": [t.name for t in to_change if t.kind != OPTIONAL],
        "source": source,
    }
    yield StringCommand(
        render_script("set_windows_features", params),
        _success_exit_codes=[0, EXIT_REBOOT_REQUIRED],
    )
    # Runs once the command succeeded (execution stage): remember what this run changed, which
    # is what reboot_if_needed may reboot for.
    run_record(FEATURES_CHANGED).update(t.name for t in to_change)


# =============================================================================================
# windows.reboot
# =============================================================================================


def _probe_boot_state(host: Any, timeout: float | None = None) -> dict[str, Any]:
    """One ``get_boot_state`` round trip with a fresh nonce (no cache can answer it)."""
    nonce = uuid.uuid4().hex
    ok, data, stderr = run_script(host, "get_boot_state", {"nonce": nonce}, timeout=timeout)
    if not ok or not isinstance(data, dict) or data.get("nonce") != nonce:
        detail = "\n".join(stderr).strip()[:200]
        raise RebootProbeError(f"no valid boot state from {host.name}: {detail or data!r}")
    return data


def _capture_boot_time(state: Any, host: Any) -> bool:
    """Step 1: the boot id before the restart (retried, as win_reboot does: anchors §1.6)."""
    last: Exception | None = None
    for attempt in range(3):
        try:
            data = _probe_boot_state(host)
        except (OSError, TimeoutError) as exc:
            last = exc
            gevent.sleep(0.2 * (attempt + 1))
            continue
        host.connector_data[REBOOT_RECORD] = {"boot_before": data["last_boot_filetime"]}
        return True
    host.log_styled(
        f"{host.name}: could not read the boot time before rebooting: {last}", fg="red", log_func=logger.error
    )
    return False


def _issue_restart(state: Any, host: Any, delay: int, message: str) -> bool:
    """Step 2: delete AutoLogonChecked and schedule ``shutdown.exe /r`` (restart_computer.ps1).

    A connection that drops while the command runs means the host went down: success
    (anchors §1.6 step 2)."""
    host.connector_data[REBOOTS] = int(host.connector_data.get(REBOOTS) or 0) + 1
    try:
        ok, data, stderr = run_script(host, "restart_computer", {"delay": delay, "message": message})
    except (OSError, TimeoutError) as exc:
        logger.info(f"{host.print_prefix}connection lost while scheduling the restart ({exc}); waiting")
        return True
    if not ok or not isinstance(data, dict):
        host.log_styled(
            f"{host.name}: restart_computer failed: {chr(10).join(stderr).strip()[:500]}",
            fg="red",
            log_func=logger.error,
        )
        return False
    rc = data.get("rc")
    if rc == RC_SHUTDOWN_IN_PROGRESS:
        logger.warning(f"{host.print_prefix}a shutdown is already in progress; waiting for it")
    elif rc != 0:
        host.log_styled(
            f"{host.name}: shutdown.exe /r failed with rc {rc}: {data.get('output', '')}",
            fg="red",
            log_func=logger.error,
        )
        return False
    return True


def _safe_disconnect(host: Any) -> None:
    try:
        host.disconnect()
    except Exception as exc:  # the connection is expected to be broken here
        logger.debug(f"{host.print_prefix}disconnect during reboot wait: {exc}")


def _wait_for_reboot(
    state: Any, host: Any, timeout: float, connect_timeout: float, poll_interval: float
) -> bool:
    """Step 3: wait until WinRM answers, the boot id changed and the host is ready.

    Each try connects with a short connect timeout; failed tries back off exponentially (capped
    at 12 intervals, with jitter), like win_reboot (anchors §1.6 step 7). Ready means
    AutoLogonChecked exists again and CBS is not servicing (anchors §1.6 steps 5-6).
    """
    record = host.connector_data.get(REBOOT_RECORD) or {}
    before = record.get("boot_before")
    started = time.monotonic()
    deadline = started + timeout
    saved_timeout = host.connector_data.get(CONNECT_TIMEOUT)
    host.connector_data[CONNECT_TIMEOUT] = connect_timeout
    failures = 0
    rebooted = False
    last_problem = "no answer yet"
    _safe_disconnect(host)
    try:
        while True:
            if time.monotonic() >= deadline:
                message = (
                    f"{host.name}: not back from the reboot after {timeout:g}s ("
                    f"{'up but not ready' if rebooted else 'boot time unchanged'}; "
                    f"last: {last_problem}). Fix: check the host's console, "
                    "or raise windows.reboot(timeout=...)"
                )
                host.log_styled(message, fg="red", log_func=logger.error)
                raise RebootTimeoutError(message)
            try:
                if not host.connected:
                    host.connect(reason="after reboot", show_errors=False, raise_exceptions=True)
                probe = _probe_boot_state(host, timeout=max(connect_timeout * 2, 5.0))
            except (ConnectError, OSError, TimeoutError) as exc:
                failures += 1
                last_problem = str(exc)[:200] or type(exc).__name__
                _safe_disconnect(host)
                delay = min(poll_interval * 2**failures, poll_interval * 12)
                gevent.sleep(delay + random.uniform(0, poll_interval))
                continue
            failures = 0
            if probe.get("last_boot_filetime") == before:
                last_problem = "the host has not restarted yet"
            elif not probe.get("autologon_checked"):
                rebooted = True
                last_problem = "waiting for the logon screen (AutoLogonChecked)"
            elif probe.get("servicing_in_progress"):
                rebooted = True
                last_problem = "Windows is still servicing (CBS ServicingInProgress)"
            else:
                logger.info(
                    f"{host.print_prefix}back from the reboot after {time.monotonic() - started:.1f}s"
                )
                return True
            gevent.sleep(poll_interval)
    finally:
        if saved_timeout is None:
            host.connector_data.pop(CONNECT_TIMEOUT, None)
        else:
            host.connector_data[CONNECT_TIMEOUT] = saved_timeout


def _reboot_commands(
    timeout: float, delay: int, message: str, connect_timeout: float, poll_interval: float
) -> Iterator[FunctionCommand]:
    yield FunctionCommand(_capture_boot_time, (), {})
    yield FunctionCommand(_issue_restart, (delay, message), {})
    yield FunctionCommand(_wait_for_reboot, (timeout, connect_timeout, poll_interval), {})


def _check_reboot_args(
    timeout: Any, delay: Any, message: Any, connect_timeout: Any, poll_interval: Any
) -> None:
    problems = []
    if not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(f"timeout={timeout!r} must be a positive number of seconds")
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= SHUTDOWN_MAX_DELAY:
        problems.append(f"delay={delay!r} must be whole seconds between 0 and {SHUTDOWN_MAX_DELAY}")
    if (
        not isinstance(message, str)
        or len(message) > SHUTDOWN_MAX_COMMENT
        or any(c in message for c in '"\r\n\x00')
    ):
        problems.append(
            f"message must be at most {SHUTDOWN_MAX_COMMENT} characters without quotes or newlines"
        )
    if not isinstance(connect_timeout, int | float) or connect_timeout <= 0:
        problems.append(f"connect_timeout={connect_timeout!r} must be a positive number of seconds")
    if not isinstance(poll_interval, int | float) or poll_interval <= 0:
        problems.append(f"poll_interval={poll_interval!r} must be a positive number of seconds")
    if problems:
        raise OperationValueError(f"{host.name}: windows.reboot: " + "; ".join(problems))


DEFAULT_REBOOT_MESSAGE = "Reboot initiated by winfra"


@operation(is_idempotent=False)
def reboot(
    timeout: float = 900,
    delay: int = 2,
    message: str = DEFAULT_REBOOT_MESSAGE,
    connect_timeout: float = 5.0,
    poll_interval: float = 1.0,
) -> Generator[Any, Any, None]:
    """
    Restart Windows and wait until it is back and ready.

    + timeout: seconds to wait for the host to come back and be ready; past it the host fails.
    + delay: seconds ``shutdown.exe /r /t`` waits before restarting (lets the command return).
    + message: the shutdown comment (at most 512 characters, no quotes or newlines).
    + connect_timeout: connect timeout of each reconnection try while waiting.
    + poll_interval: base of the capped exponential backoff between tries (seconds).

    Reads the boot time, deletes ``AutoLogonChecked`` and runs ``shutdown.exe /r`` (rc 1190:
    abort the scheduled one and retry; rc 1115: wait), then reconnects with backoff until the
    boot time changed, ``AutoLogonChecked`` exists again and CBS is not servicing (Ansible
    win_reboot's algorithm, anchors-and-winrm.md section 1.6).

    **Example:**

    .. code:: python

        windows.reboot(name="Restart after the BIOS update", timeout=1200)
    """
    _check_reboot_args(timeout, delay, message, connect_timeout, poll_interval)
    yield from _reboot_commands(timeout, delay, message, connect_timeout, poll_interval)


@operation(is_idempotent=False)
def reboot_if_needed(
    features: str | Iterable[str] | None = None,
    timeout: float = 900,
    delay: int = 2,
    connect_timeout: float = 5.0,
    poll_interval: float = 1.0,
) -> Generator[Any, Any, None]:
    """
    Restart Windows only when a pending reboot matters to this deploy; at most once per run.

    + features: extra feature names (as for ``windows.feature``) the next steps need; features
      this run asked ``windows.feature`` for are included automatically.
    + timeout: seconds to wait for the host to come back and be ready (as for ``windows.reboot``).
    + delay: seconds ``shutdown.exe /r /t`` waits before restarting.
    + connect_timeout: connect timeout of each reconnection try while waiting.
    + poll_interval: base of the capped exponential backoff between tries (seconds).

    Reboots when a feature this run changed, or one the deploy needs, is pending
    (EnablePending/InstallPending/DisablePending), or CBS RebootPending is set (it blocks further
    DISM work and ``wsl --install``: microsoft/WSL#41299). A Windows Update or rename reboot
    alone, or the noisy PendingFileRenameOperations alone, never triggers one (ansible/ansible#63595).
    A host rebooted once in this run is not rebooted again.

    **Example:**

    .. code:: python

        windows.feature(features=["wsl", "hyper-v"])
        windows.reboot_if_needed()
    """
    _check_reboot_args(timeout, delay, DEFAULT_REBOOT_MESSAGE, connect_timeout, poll_interval)
    needed: set[str] = set(run_record(FEATURES_REQUIRED))
    if features is not None:
        names, _keys = _feature_names(features, "windows.reboot_if_needed")
        needed.update(t.name for t in resolve(names, host.get_fact(WindowsInfo)))
    changed = run_record(FEATURES_CHANGED)

    pending = host.get_fact(PendingReboot)
    why: list[str] = []
    for name, st in (pending.get("pending_features") or {}).items():
        if name in changed:
            why.append(f"{name} changed by this run is {st}")
        elif name in needed:
            why.append(f"{name} needed by this deploy is {st}")
    if pending.get("cbs_reboot_pending"):
        why.append("CBS RebootPending is set (blocks DISM and wsl --install)")

    if not why:
        if pending.get("reasons"):
            host.noop(f"reboot pending ({'; '.join(pending['reasons'])}) but nothing in this run needs it")
        elif pending.get("noisy"):
            host.noop("only PendingFileRenameOperations is set; that alone never triggers a reboot")
        else:
            host.noop("no reboot pending")
        return
    if int(host.connector_data.get(REBOOTS) or 0) >= 1:
        host.noop(f"reboot needed ({'; '.join(why)}) but this host was already rebooted once in this run")
        return
    logger.info(f"{host.print_prefix}rebooting: {'; '.join(why)}")
    yield from _reboot_commands(
        timeout,
        delay,
        f"winfra: {why[0]}"[:SHUTDOWN_MAX_COMMENT].replace('"', "'"),
        connect_timeout,
        poll_interval,
    )


# =============================================================================================
# windows.requirements (preflight)
# =============================================================================================


@operation()
def requirements(
    hyper_v: bool = False,
    wsl2: bool = False,
    docker_desktop: bool = False,
    windows_containers: bool = False,
    features: str | Iterable[str] | None = None,
    min_memory_gb: float = 4.0,
) -> Generator[Any, Any, None]:
    """
    Preflight: fail this host, changing nothing, when it cannot get what the deploy asks for.

    + hyper_v: the deploy enables Hyper-V.
    + wsl2: the deploy sets up WSL2.
    + docker_desktop: the deploy installs Docker Desktop.
    + windows_containers: the deploy runs Windows containers.
    + features: feature names (as for ``windows.feature``) the deploy enables; adds to the above.
    + min_memory_gb: the RAM the deploy needs (default 4 GB: windows-facts.md D.5, B.7).

    Checks (``winfra.preflight``, each with its source): a filtered admin token
    (LocalAccountTokenFilterPolicy), Hyper-V or containers on Home, Docker Desktop on Windows
    Server, a build too old for WSL2 (19041) or Docker Desktop (19045 / 22631), virtualization off
    in the firmware or missing from the CPU, a VM without nested virtualization, too little RAM.
    Put it first: the failed host leaves the run before any change, other hosts carry on.

    **Example:**

    .. code:: python

        windows.requirements(wsl2=True, docker_desktop=True)
    """
    keys: list[str] = []
    if features is not None:
        _names, keys = _feature_names(features, "windows.requirements")
    if not isinstance(min_memory_gb, int | float) or min_memory_gb < 0:
        raise OperationValueError(
            f"{host.name}: windows.requirements: min_memory_gb={min_memory_gb!r} must be a number of GB "
            "of at least 0, e.g. 8"
        )
    implied = wants_for_features(keys)
    wants = Wants(
        hyper_v=hyper_v or implied.hyper_v,
        wsl2=wsl2 or implied.wsl2,
        docker_desktop=docker_desktop,
        windows_containers=windows_containers or implied.windows_containers,
        min_memory_gb=float(min_memory_gb),
    )
    info = host.get_fact(WindowsInfo)
    section = {"optional": host.get_fact(OptionalFeatures), "server": host.get_fact(ServerFeatures)}
    problems = check(info, wants, section)
    if not problems:
        host.noop(f"preflight passed for {info.get('caption') or 'Windows'} build {info.get('build')}")
        return
    message = failure_message(host.name, problems)
    if not host.state.is_executing:
        # Visible in --dry too; the failing step below removes the host when the run executes.
        logger.warning(message)
    yield fail_host(message)
