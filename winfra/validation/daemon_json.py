"""Controller-side validation of ``daemon.json`` before anything touches a host (pure Python).

dockerd refuses to start on a bad ``daemon.json``; on a Windows container host that means the
engine is down until someone logs in and fixes the file. Everything that can be checked without
the host is therefore checked here, with the host's facts passed in as a :class:`DaemonJsonContext`:

* the template renders and the result parses as one JSON object;
* every key is a known dockerd option for the target's engine, with the right value type
  (the option table below, :data:`OPTIONS`, with its sources);
* Linux-only keys on a Windows engine are one clear error listing all of them (dockerd's own
  error names only the unknown keys, and only after the service died: windows-facts.md C.4,
  https://github.com/docker/for-win/issues/14411);
* ``exec-opts`` isolation values are checked against the host (windows-facts.md E: process
  isolation on a Windows client needs build 17763+; Docker Desktop's Linux engine only supports
  ``default``: "Invalid isolation: "process" - linux only supports 'default'.");
* ``group`` names a local group that exists, or will be created first (windows-facts.md C.4:
  an unresolvable name is a dockerd startup error);
* for Docker Desktop's Linux engine (target ``desktop``) ``data-root`` must be a Linux path;
* a key that is also baked into the Windows service's command line (``dockerd --register-service
  -H ...`` stores its flags in ImagePath: windows-facts.md C.2) is refused, as dockerd would with
  "the following directives are specified both as a flag and in the configuration file".

The result carries the canonical text to write (UTF-8 without BOM, windows-facts.md C.4 "BOM
trap") and the structured data for the JSON diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from winfra.templating import find_template, render_template

Target = Literal["engine", "desktop", "desktop-windows"]
TARGETS: tuple[str, ...] = ("engine", "desktop", "desktop-windows")

# Where each target's file lives (windows-facts.md B.5, C.4).
ENGINE_CONFIG_PATH = r"C:\ProgramData\docker\config\daemon.json"
DESKTOP_FILE_NAMES = {"desktop": "daemon.json", "desktop-windows": "windows-daemon.json"}

# Sources of the option table.
_SRC_WIN_SAMPLE = 'docker/cli:docs/reference/dockerd.md "On Windows" configuration sample'
_SRC_MS_DOC = (
    "MicrosoftDocs/Virtualization-Documentation:windowscontainers/manage-docker/configure-docker-daemon.md"
)
_SRC_LINUX = 'docker/cli:docs/reference/dockerd.md "On Linux" sample; moby daemon/config/config_linux.go'
_SRC_C4 = "shared/reference/windows-facts.md C.4"


class DaemonJsonError(ValueError):
    """daemon.json is invalid for this host; ``problems`` lists every reason."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.where = where
        self.problems = problems
        lines = "\n  - ".join(problems)
        super().__init__(f"{where}: daemon.json is invalid, nothing was changed:\n  - {lines}")


# -- the option table ----------------------------------------------------------------------------
# kind: "bool" | "str" | "int" | "strlist" | "strmap" | "object"
# where: "common" (both engines), "windows" (Windows engine only), "linux" (Linux engine only)


@dataclass(frozen=True)
class Option:
    kind: str
    where: str
    source: str
    note: str = ""


def _opts(kind: str, where: str, source: str, *names: str, note: str = "") -> dict[str, Option]:
    return {n: Option(kind, where, source, note) for n in names}


OPTIONS: dict[str, Option] = {
    # Valid on both engines (dockerd.md samples for Linux and Windows list these).
    **_opts("bool", "common", _SRC_WIN_SAMPLE, "debug", "experimental", "raw-logs", "tls", "tlsverify"),
    **_opts("bool", "common", _SRC_C4, "live-restore"),
    **_opts(
        "str",
        "common",
        _SRC_WIN_SAMPLE,
        "data-root",
        "exec-root",
        "group",
        "log-driver",
        "log-level",
        "storage-driver",
        "bridge",
        "fixed-cidr",
        "swarm-default-advertise-addr",
        "tlscacert",
        "tlscert",
        "tlskey",
        "pidfile",
        "containerd",
        "containerd-namespace",
        "containerd-plugin-namespace",
        "default-runtime",
        "log-format",
    ),
    **_opts(
        "int",
        "common",
        _SRC_WIN_SAMPLE,
        "mtu",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "shutdown-timeout",
    ),
    **_opts(
        "strlist",
        "common",
        _SRC_WIN_SAMPLE,
        "authorization-plugins",
        "dns",
        "dns-opts",
        "dns-search",
        "exec-opts",
        "hosts",
        "insecure-registries",
        "labels",
        "registry-mirrors",
        "storage-opts",
        "allow-nondistributable-artifacts",
    ),
    **_opts("strmap", "common", _SRC_WIN_SAMPLE, "log-opts"),
    # "features" (e.g. {"buildkit": true}), "builder" (GC policy), "proxies" (23.0+).
    **_opts("object", "common", "docker/cli:docs/reference/dockerd.md daemon configuration file", "features"),
    **_opts("object", "common", "docker/cli:docs/reference/dockerd.md daemon configuration file", "builder"),
    **_opts("object", "common", "https://github.com/moby/moby/pull/42835 (proxies, Engine 23.0)", "proxies"),
    # Accepted on Windows but has no effect there (C.4 "default-shm-size (ignored)").
    **_opts("str", "common", _SRC_C4, "default-shm-size", note="ignored on Windows"),
    # Linux engine only: a Windows dockerd rejects or ignores them (C.4, for-win#14411).
    **_opts("object", "linux", _SRC_LINUX, "default-address-pools", "runtimes", "default-ulimits"),
    **_opts(
        "bool",
        "linux",
        _SRC_LINUX,
        "iptables",
        "ip6tables",
        "ip-masq",
        "ip-forward",
        "icc",
        "ipv6",
        "selinux-enabled",
        "init",
        "userland-proxy",
        "no-new-privileges",
    ),
    **_opts(
        "str",
        "linux",
        _SRC_LINUX,
        "userns-remap",
        "cgroup-parent",
        "seccomp-profile",
        "ip",
        "bip",
        "fixed-cidr-v6",
        "default-gateway",
        "default-gateway-v6",
        "init-path",
        "userland-proxy-path",
        "default-cgroupns-mode",
        "default-ipc-mode",
    ),
    **_opts("int", "linux", _SRC_LINUX, "oom-score-adjust", "cpu-rt-period", "cpu-rt-runtime"),
}

# Keys dockerd no longer knows (removed options): a clear message instead of "unknown key".
REMOVED_OPTIONS: dict[str, str] = {
    "graph": "'graph' was removed in Engine 23.0; use 'data-root' (docker/cli docs/deprecated.md)",
    "cluster-store": "'cluster-store' was removed in Engine 23.0 (windows-facts.md C.4)",
    "cluster-advertise": "'cluster-advertise' was removed in Engine 23.0 (windows-facts.md C.4)",
    "cluster-store-opts": "'cluster-store-opts' was removed in Engine 23.0 (windows-facts.md C.4)",
}

# Windows dockerd's built-in runtimes (moby daemon/config/config_windows.go builtinRuntimes);
# "runc"/"crun" are Linux runtimes.
WINDOWS_RUNTIMES = frozenset({"com.docker.hcsshim.v1", "io.containerd.runhcs.v1"})
# dockerd.md: --log-level ("debug"|"info"|"warn"|"error"|"fatal").
LOG_LEVELS = frozenset({"debug", "info", "warn", "error", "fatal"})
# The only storage driver of the Windows engine (C.4 "storage-driver (windowsfilter)").
WINDOWS_STORAGE_DRIVERS = frozenset({"windowsfilter"})
# windows-facts.md E: process isolation on a Windows client needs build 17763 (1809) or later.
CLIENT_PROCESS_ISOLATION_MIN_BUILD = 17763
ISOLATIONS = frozenset({"default", "process", "hyperv"})

# Command-line flags of dockerd and the daemon.json key each one sets (dockerd.md options list:
# plural keys for repeatable flags). Flags winfra itself bakes in are ignored.
_FLAG_ALIASES = {
    "-H": "hosts",
    "--host": "hosts",
    "-G": "group",
    "-D": "debug",
    "-l": "log-level",
    "-g": "data-root",
    "--graph": "data-root",
    "--exec-opt": "exec-opts",
    "--dns-opt": "dns-opts",
    "--label": "labels",
    "--insecure-registry": "insecure-registries",
    "--registry-mirror": "registry-mirrors",
    "--storage-opt": "storage-opts",
    "--log-opt": "log-opts",
    "--authorization-plugin": "authorization-plugins",
    "--default-ulimit": "default-ulimits",
    "--add-runtime": "runtimes",
    "-b": "bridge",
}
# moby cmd/dockerd/service_windows.go: --run-service is what the service manager starts dockerd
# with; --service-name and --config-file are not daemon.json keys.
_SERVICE_FLAGS = frozenset({"--run-service", "--service-name", "--register-service", "--config-file"})
# Flags that take no value.
_BOOL_FLAGS = frozenset(
    {"-D", "--debug", "--tls", "--tlsverify", "--experimental", "--raw-logs", "--run-service"}
)


def flags_to_keys(flags: Iterable[str]) -> dict[str, list[str]]:
    """Map the flags baked into the service's ImagePath to daemon.json keys: key -> flag values."""
    out: dict[str, list[str]] = {}
    items = list(flags)
    i = 0
    while i < len(items):
        tok = items[i]
        i += 1
        if not tok.startswith("-"):
            continue
        name, eq, value = tok.partition("=")
        if not eq and name not in _BOOL_FLAGS and i < len(items) and not items[i].startswith("-"):
            value = items[i]
            i += 1
        if name in _SERVICE_FLAGS:
            continue
        key = _FLAG_ALIASES.get(name) or name.lstrip("-")
        out.setdefault(key, []).append(value if value else "true")
    return out


# -- host context --------------------------------------------------------------------------------


@dataclass
class DaemonJsonContext:
    """What validation needs to know about the host (from winfra.facts.docker)."""

    host: str
    target: Target = "engine"
    # Windows build number (windows-facts.md E) and whether the host is a Server SKU.
    build: int | None = None
    is_server: bool | None = None
    # Engine version ("27.3.1"), when known; decides about removed options.
    engine_version: str | None = None
    # Flags baked into the engine service's ImagePath (excluding the executable).
    service_flags: list[str] = field(default_factory=list)
    # Local group names on the host (case-insensitive), or None when unknown.
    local_groups: list[str] | None = None
    create_group: bool = True


@dataclass
class ValidatedConfig:
    data: dict[str, Any]
    # Exactly what is written: UTF-8 without BOM, 2-space JSON, newline at the end.
    text: str
    # Local groups to create before the file is applied (from "group", create_group=True).
    groups_to_create: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    m = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    return tuple(int(x) for x in m.groups(default="0"))


# -- rendering -----------------------------------------------------------------------------------


def render(
    template: str | Path | None,
    config: Mapping[str, Any] | None,
    defaults: Mapping[str, Any] | None = None,
    *,
    search_dirs: Iterable[str | Path] = (),
) -> str:
    """Render ``template`` (templates/daemon.json.j2: variables ``config`` and ``defaults``).

    ``template=None`` renders ``config`` (merged over ``defaults``) directly as JSON.
    A relative template path is looked up in ``search_dirs``, the current directory and the
    repository root, in that order.
    """
    cfg = dict(config or {})
    dflt = dict(defaults or {})
    if template is None:
        merged = {k: v for k, v in dflt.items() if v is not None}
        merged.update({k: v for k, v in cfg.items() if v is not None})
        return json.dumps(merged, indent=2, sort_keys=True)
    try:
        path = find_template(template, search_dirs)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"daemon.json {exc}") from None
    return render_template(path, {"config": cfg, "defaults": dflt})


# -- validation ----------------------------------------------------------------------------------


def canonical_text(data: Mapping[str, Any]) -> str:
    """The bytes winfra writes: sorted keys, 2-space indent, trailing newline, no BOM."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse(text: str, where: str) -> dict[str, Any]:
    if text.startswith("\ufeff"):
        # A BOM from the template is dropped: winfra never writes one (C.4 "BOM trap").
        text = text[1:]
    if not text.strip():
        # An empty daemon.json crash-loops Desktop's backend (windows-facts.md B.5, for-win#14700).
        raise DaemonJsonError(where, ["the rendered file is empty; render '{}' for no settings"])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DaemonJsonError(where, [f"the rendered template is not JSON: {exc}"]) from exc
    if not isinstance(data, dict):
        raise DaemonJsonError(where, [f"daemon.json must be a JSON object, got {type(data).__name__}"])
    return data


def validate(text: str, ctx: DaemonJsonContext) -> ValidatedConfig:
    """Validate rendered daemon.json ``text`` for ``ctx``; raise :class:`DaemonJsonError`."""
    if ctx.target not in TARGETS:
        raise DaemonJsonError(ctx.host, [f"target={ctx.target!r} is not one of {', '.join(TARGETS)}"])
    where = f"{ctx.host} ({_target_label(ctx.target)})"
    data = parse(text, where)
    problems: list[str] = []
    warnings: list[str] = []
    linux_engine = ctx.target == "desktop"

    # 1. Keys: unknown, removed, Linux-only on a Windows engine.
    linux_only = sorted(k for k in data if k in OPTIONS and OPTIONS[k].where == "linux" and not linux_engine)
    if linux_only:
        problems.append(
            "Linux-only keys the Windows engine does not accept: "
            + ", ".join(linux_only)
            + " (dockerd on Windows fails with 'the following directives don't match any configuration "
            "option'; windows-facts.md C.4). Remove them."
        )
    for key in sorted(data):
        if key in REMOVED_OPTIONS:
            problems.append(REMOVED_OPTIONS[key])
        elif key not in OPTIONS:
            problems.append(
                f"unknown key {key!r}: dockerd would fail with 'the following directives don't match any "
                f"configuration option: {key}' (see the option table in winfra/validation/daemon_json.py)"
            )
        elif OPTIONS[key].where == "windows" and linux_engine:
            problems.append(f"{key!r} is a Windows-engine option; Docker Desktop's Linux engine rejects it")

    # 2. Value types.
    for key, value in data.items():
        opt = OPTIONS.get(key)
        if opt is None:
            continue
        err = _type_error(key, value, opt.kind)
        if err:
            problems.append(err)
        elif opt.note and not linux_engine:
            warnings.append(f"{key!r} is {opt.note} ({opt.source})")

    # 3. Values with host semantics (only when the type was right).
    def ok(key: str, kind: str) -> bool:
        return key in data and _type_error(key, data[key], kind) is None

    if ok("exec-opts", "strlist"):
        problems.extend(_check_exec_opts(data["exec-opts"], ctx))
    if ok("log-level", "str") and data["log-level"] not in LOG_LEVELS:
        problems.append(f"log-level {data['log-level']!r} is not one of {', '.join(sorted(LOG_LEVELS))}")
    if ok("data-root", "str"):
        problems.extend(_check_data_root(data["data-root"], ctx))
    if not linux_engine:
        if ok("storage-driver", "str") and data["storage-driver"] not in WINDOWS_STORAGE_DRIVERS:
            problems.append(
                f"storage-driver {data['storage-driver']!r} does not exist on Windows; the only driver is "
                "'windowsfilter' (windows-facts.md C.4)"
            )
        if ok("bridge", "str") and data["bridge"] != "none":
            problems.append(
                f'bridge {data["bridge"]!r}: on Windows only "none" is valid (disables the default nat '
                "network; windows-facts.md C.4)"
            )
        if ok("default-runtime", "str") and data["default-runtime"] not in WINDOWS_RUNTIMES:
            problems.append(
                f"default-runtime {data['default-runtime']!r} is a Linux runtime; on Windows use one of "
                f"{', '.join(sorted(WINDOWS_RUNTIMES))} (moby daemon/config/config_windows.go) "
                "or leave it out"
            )
        if ok("hosts", "strlist"):
            p, w = _check_hosts(data["hosts"])
            problems.extend(p)
            warnings.extend(w)
    groups_to_create: list[str] = []
    if ok("group", "str"):
        p, groups_to_create = _check_group(data["group"], ctx, linux_engine)
        problems.extend(p)

    # 4. Keys also baked into the service's flags (engine only; C.2, C.4).
    if ctx.target == "engine" and ctx.service_flags:
        baked = flags_to_keys(ctx.service_flags)
        both = sorted(k for k in data if k in baked)
        for key in both:
            problems.append(
                f"{key!r} is set both in daemon.json and as a flag baked into the docker service "
                f"(from flag: {baked[key]}, from file: {data[key]!r}); dockerd refuses to start with "
                "'the following directives are specified both as a flag and in the configuration file'. "
                "Re-register the service without flags (winfra.operations.docker.engine does) "
                "or drop the key."
            )

    if problems:
        raise DaemonJsonError(where, problems)
    return ValidatedConfig(
        data=data, text=canonical_text(data), groups_to_create=groups_to_create, warnings=warnings
    )


def _target_label(target: str) -> str:
    return {
        "engine": "native engine, " + ENGINE_CONFIG_PATH,
        "desktop": r"Docker Desktop Linux engine, %USERPROFILE%\.docker\daemon.json",
        "desktop-windows": r"Docker Desktop Windows engine, %USERPROFILE%\.docker\windows-daemon.json",
    }[target]


_KIND_TEXT = {
    "bool": "a boolean (true/false)",
    "str": "a string",
    "int": "an integer",
    "strlist": "a list of strings",
    "strmap": "an object of string values",
    "object": "an object",
}


def _type_error(key: str, value: Any, kind: str) -> str | None:
    good = {
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "strlist": isinstance(value, list) and all(isinstance(x, str) for x in value),
        "strmap": isinstance(value, dict) and all(isinstance(x, str) for x in value.values()),
        "object": isinstance(value, dict | list),
    }[kind]
    if good:
        return None
    return f"{key!r} must be {_KIND_TEXT[kind]}, got {json.dumps(value)[:60]}"


def _check_exec_opts(opts: list[str], ctx: DaemonJsonContext) -> list[str]:
    problems = []
    for opt in opts:
        name, _, value = opt.partition("=")
        if name.strip().lower() != "isolation":
            continue
        iso = value.strip().lower()
        if iso not in ISOLATIONS:
            problems.append(f"exec-opts {opt!r}: isolation must be one of default, process, hyperv")
        elif ctx.target == "desktop" and iso != "default":
            # windows-facts.md E: the Linux engine answers 'Invalid isolation: "process" - linux
            # only supports 'default'.'
            problems.append(
                f"exec-opts {opt!r}: Docker Desktop's Linux engine refuses it (\"linux only supports "
                "'default'\"); put isolation in target='desktop-windows' for Windows containers"
            )
        elif (
            iso == "process"
            and ctx.is_server is False
            and ctx.build is not None
            and ctx.build < CLIENT_PROCESS_ISOLATION_MIN_BUILD
        ):
            problems.append(
                f"exec-opts {opt!r}: process isolation on a Windows client needs build "
                f"{CLIENT_PROCESS_ISOLATION_MIN_BUILD}+ (this host: {ctx.build}; windows-facts.md E). "
                "Use isolation=hyperv."
            )
    return problems


_WIN_ABS = re.compile(r"^[A-Za-z]:[\\/]")


def _check_data_root(value: str, ctx: DaemonJsonContext) -> list[str]:
    if ctx.target == "desktop":
        if not value.startswith("/"):
            return [
                f"data-root {value!r} is not a Linux path: Docker Desktop's Linux engine runs in WSL2 and "
                "reads data-root inside its VM. Move Desktop's data with "
                "winfra.operations.docker.desktop_data_location instead."
            ]
        return []
    if not _WIN_ABS.match(value):
        return [f"data-root {value!r} must be an absolute Windows path such as 'D:\\\\docker'"]
    return []


def _check_hosts(hosts: list[str]) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    warnings: list[str] = []
    for h in hosts:
        scheme = h.split("://", 1)[0].lower() if "://" in h else ""
        if scheme in ("unix", "fd"):
            problems.append(
                f"hosts entry {h!r}: {scheme}:// listeners are Linux-only; use npipe:// or tcp://"
            )
        elif scheme not in ("npipe", "tcp"):
            problems.append(f"hosts entry {h!r} must start with npipe:// or tcp://")
        elif scheme == "tcp" and h.endswith(":2375"):
            # dockerd.md "Daemon socket option": the unencrypted port gives root-equivalent access.
            warnings.append(f"hosts entry {h!r} is the unencrypted Docker port; anyone reaching it is admin")
    return problems, warnings


def _check_group(value: str, ctx: DaemonJsonContext, linux_engine: bool) -> tuple[list[str], list[str]]:
    if linux_engine:
        return [], []  # a group inside Desktop's VM; not a Windows group
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        return ["group is empty; leave it out instead"], []
    if ctx.local_groups is None:
        return [], []
    known = {g.lower() for g in ctx.local_groups}
    missing = [n for n in names if n.split("\\")[-1].lower() not in known and "\\" not in n]
    if not missing:
        return [], []
    if ctx.create_group:
        return [], missing
    return [
        f"group {', '.join(missing)} does not exist on the host and create_group=False; dockerd fails at "
        "startup when the pipe's group does not resolve (windows-facts.md C.4). Create it or pass "
        "create_group=True."
    ], []


# -- diff ----------------------------------------------------------------------------------------


def json_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """A key-level diff of two daemon.json objects: '+ key: value', '- key: value', '~ key: a -> b'."""
    old = old or {}
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append(f"+ {key}: {json.dumps(new[key], sort_keys=True)}")
        elif key not in new:
            out.append(f"- {key}: {json.dumps(old[key], sort_keys=True)}")
        elif old[key] != new[key]:
            out.append(
                f"~ {key}: {json.dumps(old[key], sort_keys=True)} -> {json.dumps(new[key], sort_keys=True)}"
            )
    return out


def read_existing(content: str) -> tuple[dict[str, Any] | None, bool, str | None]:
    """Parse a daemon.json found on the host as a lenient reader would (a BOM is skipped):
    ``(data or None, has_bom, why it is unusable or None)``."""
    bom = content.startswith("\ufeff")
    try:
        data = json.loads(content[1:] if bom else content)
    except json.JSONDecodeError as exc:
        return None, bom, str(exc)
    if not isinstance(data, dict):
        return None, bom, "not a JSON object"
    return data, bom, None


def parse_existing(content: str | None) -> tuple[dict[str, Any] | None, bool]:
    """Parse the current file as a lenient reader would: (data or None, has_bom)."""
    if content is None:
        return None, False
    data, bom, _error = read_existing(content)
    return data, bom
