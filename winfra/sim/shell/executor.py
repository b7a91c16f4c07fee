"""What runs inside a WinRS shell of one simulated host: the :class:`HostExecutor`.

For each WinRS ``Command`` the endpoint calls :meth:`HostExecutor.start`, which returns a
:class:`~winfra.sim.shell.process.ThreadProcess` running the command line in a worker thread:

1. Fault injection: ``host.faults.on_command()`` may raise ``DropConnection`` (host data
   ``{"drop_connection_at_command": N}``); the endpoint then closes the TCP connection unanswered.
2. ``cmd.exe /c`` semantics (WinRS runs every command through cmd unless
   ``WINRS_SKIP_CMD_SHELL``; anchors-and-winrm.md §1.4): ``%VAR%`` expansion, ``cmd /c`` nesting,
   and the cmd built-ins the third-party clients use: ``hostname``, ``echo``, ``whoami``,
   ``ver``, ``exit``. Anything else prints cmd's "'X' is not recognized as an internal or
   external command, operable program or batch file." and the process exits 1 (testinfra's
   ``SystemInfo`` relies on exactly that exit code for ``uname -s`` on Windows:
   testinfra/modules/systeminfo.py, testing-without-windows.md §e).
3. ``powershell.exe`` (any path or case, parameters as :mod:`.cmdline` parses them): one
   ``powershell_launches`` count; the winfra stdin bootstrap (``winfra.powershell.wire.BOOTSTRAP``)
   reads its two base64 lines; the output prologue (``wire.PROLOGUE``) switches output to UTF-8,
   otherwise output uses the shell's console code page (``WINRS_CODEPAGE``, 437 by default).
4. A rendered winfra script (``winfra.powershell.scripts.parse_header``) is dispatched to its
   counterpart ``winfra.sim.scripts.<name>`` (contract in ``winfra/sim/scripting.py``) after
   checking that the embedded body is the shipped ``.ps1`` (same sha256 and text). A counterpart
   that defines ``run_stream(call, stdin_lines, write_stdout)`` is called with a blocking iterator
   of stdin lines (``str``, without CR LF, as ``[Console]::In.ReadLine()`` returns them) and a
   writer that writes one stdout line (``WriteLine``); its return value is written last as JSON.
5. Every other PowerShell text goes to the read-only interpreter (helper H3's module)::

       winfra.sim.shell.interpreter.interpret(host, user, script, env, *, cwd=None, stdin=None)
           -> tuple[str, str, int]      # (stdout text, error-stream text, exit code)

   ``script`` is the PowerShell text without winfra's prologue and without the leading
   ``${env:X} = '...'`` / ``Set-Location -LiteralPath '...'`` lines, which arrive as ``env``
   (the process environment: the user's, the shell's, then those assignments) and ``cwd``.
   ``stdin`` is ``$WinfraStdin`` when the command had stdin. The error-stream text is plain
   text (one error record's lines separated by newlines); this module serialises it as CLIXML
   ``<S S="Error">`` lines, as powershell.exe does when its output is redirected. The interpreter
   may raise :class:`~winfra.sim.scripting.PowerShellError` for a terminating error. Keyword
   arguments the installed interpreter does not accept are not passed. Until the module exists,
   the first command word gets PowerShell's CommandNotFoundException and exit 1.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from winfra.powershell.quoting import PowerShellQuotingError, ps_unquote
from winfra.powershell.scripts import ScriptError, load_script, parse_header
from winfra.powershell.wire import BOOTSTRAP, PROLOGUE
from winfra.sim.counters import Counters
from winfra.sim.process import ShellContext
from winfra.sim.scripting import PowerShellError, ScriptCall, ScriptExit
from winfra.sim.shell import psoutput
from winfra.sim.shell.cmdline import (
    PowerShellCommandLineError,
    expand_cmd_vars,
    first_token,
    parse_powershell_args,
    program_name,
    split_args,
    split_cmd_operators,
    strip_cmd_c,
    strip_redirections,
)
from winfra.sim.shell.process import ProcessIO, ThreadProcess

if TYPE_CHECKING:
    from winfra.sim.models.host import SimHost

log = logging.getLogger(__name__)

CRLF = "\r\n"
# ConsoleHost.ExitCodeBadCommandLineParameter (PowerShell ConsoleHost CommandLineParameterParser).
EXIT_BAD_COMMAND_LINE = 64
# Programs the simulator can start by full path (System32 executables and what the interpreter
# models), for WINRS_SKIP_CMD_SHELL.
_DIRECT_PROGRAMS = frozenset({"powershell", "cmd", "hostname", "whoami", "wsl", "docker"})
# Native programs whose cmd.exe lines go to the read-only interpreter (its `shell="cmd"` mode).
_INTERPRETED_NATIVE = frozenset({"wsl", "docker", "systeminfo", "findstr", "net"})
_BASE64_ERROR = (
    'Exception calling "FromBase64String" with "1" argument(s): "The input is not a valid Base-64 '
    "string as it contains a non-base 64 character, more than two padding characters, or an illegal "
    'character among the padding characters. "'
)
_QUOTE_CLASS = "'\u2018\u2019\u201a\u201b"
_LITERAL = rf"[{_QUOTE_CLASS}](?:[^{_QUOTE_CLASS}]|[{_QUOTE_CLASS}]{{2}})*[{_QUOTE_CLASS}]"
_ENV_LINE = re.compile(rf"\A\$\{{env:(?P<name>[A-Za-z0-9_()]+)\}} = (?P<value>{_LITERAL})\n")
_CHDIR_LINE = re.compile(rf"\ASet-Location -LiteralPath (?P<value>{_LITERAL})(?: -ErrorAction Stop)?\n")


@dataclass
class Preamble:
    """What ``winfra.powershell.wire.with_prologue`` put before a script: whether the UTF-8 output
    prologue is there, the ``$env:`` assignments and the ``Set-Location`` directory."""

    script: str
    utf8: bool
    env: dict[str, str]
    cwd: str | None


def split_preamble(script: str) -> Preamble:
    """Split the wire prologue, ``${env:X} = '...'`` and ``Set-Location -LiteralPath '...'`` lines
    off ``script`` (the executor and the run-as counterpart both run such scripts)."""
    utf8 = False
    prologue = _normalize(PROLOGUE)
    while script.startswith(prologue):
        utf8 = True
        script = script[len(prologue) :]
    env: dict[str, str] = {}
    cwd: str | None = None
    while True:
        match = _ENV_LINE.match(script)
        if match:
            env[match["name"]] = ps_unquote(match["value"])
            script = script[match.end() :]
            continue
        match = _CHDIR_LINE.match(script)
        if match:
            cwd = ps_unquote(match["value"])
            script = script[match.end() :]
            continue
        return Preamble(script, utf8, env, cwd)


def missing_directory_error(cwd: str) -> PowerShellError:
    """``Set-Location -ErrorAction Stop`` on a missing directory: a terminating
    ItemNotFoundException, so nothing after it runs. Message, category and id as captured in
    https://github.com/MicrosoftDocs/terminal/issues/451 (Windows PowerShell 5.1)."""
    return PowerShellError(
        f"Cannot find path '{cwd}' because it does not exist.",
        category="ObjectNotFound",
        error_id="PathNotFound,Microsoft.PowerShell.Commands.SetLocationCommand",
    )


_RENDERED = re.compile(
    rf"\A# winfra-script: [^\n]*\n& \{{\n(?P<body>.*)\}} -InputJson (?P<literal>{_LITERAL})\s*\Z", re.S
)


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n")


class HostExecutor:
    """A :class:`~winfra.sim.process.CommandExecutor` for one :class:`SimHost`."""

    def __init__(self, host: SimHost, *, counters: Counters | None = None) -> None:
        self.host = host
        self.counters = counters if counters is not None else host.counters

    # --- CommandExecutor ----------------------------------------------------------------------
    def start(
        self, shell: ShellContext, command: str, arguments: list[str], *, skip_cmd_shell: bool = False
    ) -> ThreadProcess:
        """Start a command. With ``skip_cmd_shell`` (WinRS ``WINRS_SKIP_CMD_SHELL``) there is no
        cmd.exe: no ``%VAR%`` expansion, no built-ins, and the program must be given by its full
        path, else FileNotFoundError (the endpoint's "The system cannot find the file specified."
        fault; pypsrp test_winrs_no_cmd_shell.yml: ``powershell.exe`` fails, the full path runs)."""
        host = self.host
        if skip_cmd_shell:
            token, _rest = first_token(command)
            if not re.match(r"^[A-Za-z]:[\\/]", token) or program_name(token) not in _DIRECT_PROGRAMS:
                raise FileNotFoundError(token)
        with host.lock:
            try:
                host.faults.on_command()
            finally:
                # The command count only matters to a drop_connection_at_command fault, which counts
                # over the host's lifetime: persist it only then (a save per command is not free).
                if any("drop_connection_at_command" in spec for spec in host.faults.specs):
                    host.save()
        # WinRS joins rsp:Command and rsp:Arguments with spaces into one command line.
        line = " ".join([command, *arguments]) if arguments else command
        if skip_cmd_shell:
            return ThreadProcess(lambda io: self._run_direct(shell, line, io), name=f"winsim-{host.name}")
        return ThreadProcess(lambda io: self._run_line(shell, line, io), name=f"winsim-{host.name}")

    def _run_direct(self, shell: ShellContext, line: str, io: ProcessIO) -> int:
        # Without cmd.exe: the program's own argv, nothing expanded.
        return self._run_cmd(shell, line, self._env(shell), io, depth=0)

    # --- cmd.exe ------------------------------------------------------------------------------
    def _env(self, shell: ShellContext) -> dict[str, str]:
        env: dict[str, str] = {}
        try:
            env.update(self.host.user_env(shell.user))
        except Exception:  # an account the model does not know (unit tests with a bare host)
            env.update({"USERNAME": shell.user})
        env.setdefault("PROCESSOR_ARCHITECTURE", "AMD64")
        env.setdefault("OS", "Windows_NT")
        env.setdefault("PATHEXT", ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC")
        env.update(shell.env)
        return env

    def _run_line(self, shell: ShellContext, line: str, io: ProcessIO) -> int:
        env = self._env(shell)
        line = expand_cmd_vars(line, env)
        return self._run_cmd(shell, line, env, io, depth=0)

    def _cmd_out(self, shell: ShellContext, text: str) -> bytes:
        return psoutput.console_encode(text, shell.codepage)

    def _run_cmd(self, shell: ShellContext, line: str, env: dict[str, str], io: ProcessIO, depth: int) -> int:
        segments = split_cmd_operators(line)
        if len(segments) > 1 or strip_redirections(line)[1]:
            return self._run_sequence(shell, segments, env, io, depth)
        return self._run_one(shell, line, env, io, depth)

    def _run_sequence(
        self,
        shell: ShellContext,
        segments: list[tuple[str | None, str]],
        env: dict[str, str],
        io: ProcessIO,
        depth: int,
    ) -> int:
        """``a && b || c & d`` with ``>&2``/``2>&1``/``>nul`` redirections, as cmd.exe runs them:
        left to right, ``&&`` only after success, ``||`` only after failure, ``exit`` ends cmd."""
        code = 0
        for op, segment in segments:
            if (op == "&&" and code != 0) or (op == "||" and code == 0):
                continue
            text, redirs = strip_redirections(segment)
            capture = _CaptureIO(io)
            code = self._run_one(shell, text, env, capture, depth + 1)
            streams = {1: capture.out, 2: capture.err}
            routed = {1: bytearray(), 2: bytearray()}
            for fd in (1, 2):
                target = redirs.get(fd, str(fd))
                if target != "nul":
                    routed[int(target)] += streams[fd]
            io.write_stdout(bytes(routed[1]))
            io.write_stderr(bytes(routed[2]))
            if program_name(first_token(text.lstrip(" \t@"))[0]) == "exit":
                break
        io.finish(b"", b"", code)
        return code

    def _run_one(self, shell: ShellContext, line: str, env: dict[str, str], io: ProcessIO, depth: int) -> int:
        stripped = line.lstrip(" \t@")
        token, rest = first_token(stripped)
        prog = program_name(token)
        host = self.host
        if not token:
            io.finish(b"", b"", 0)
            return 0
        if prog == "cmd" and depth < 8:
            # cmd [/s] [/q] [/d] [/a|/u] [/e:on] [/v:on] ... /c|/k <command>
            match = re.search(r"(?i)(?:^|\s)/[ck]\s?", rest)
            if match is None:
                io.finish(b"", b"", 0)
                return 0
            # cmd.exe expands %VAR% in the command it was given (also when it was started
            # directly, without an outer cmd, under WINRS_SKIP_CMD_SHELL).
            inner = expand_cmd_vars(strip_cmd_c(rest[match.end() :]), env)
            return self._run_cmd(shell, inner, env, io, depth + 1)
        if prog in ("powershell", "pwsh") and (prog == "powershell" or token.lower().endswith("pwsh.exe")):
            return self._run_powershell(shell, split_args(rest), env, io)
        if prog == "hostname" and not rest.strip():
            io.finish(self._cmd_out(shell, host.os.computer_name + CRLF), b"", 0)
            return 0
        if prog == "whoami" and not rest.strip():
            text = f"{host.os.computer_name}\\{shell.user}".lower() + CRLF
            io.finish(self._cmd_out(shell, text), b"", 0)
            return 0
        if prog == "ver" and not rest.strip():
            # cmd's ver: an empty line, then "Microsoft Windows [Version 10.0.<build>.<ubr>]".
            text = f"{CRLF}Microsoft Windows [Version {host.os.full_version}]{CRLF}"
            io.finish(self._cmd_out(shell, text), b"", 0)
            return 0
        if token.lower() == "echo" or token.lower().startswith("echo."):
            text = rest[1:] if rest.startswith(" ") else rest
            if token.lower().startswith("echo."):
                text = token[5:] + rest
            elif not text.strip():
                text = "ECHO is on."
            # Trailing spaces are printed: "echo out && ..." writes "out " (pypsrp
            # test_winrs_stderr_rc.yml).
            io.finish(self._cmd_out(shell, text + CRLF), b"", 0)
            return 0
        if prog == "exit":
            args = rest.split()
            args = [a for a in args if a.lower() != "/b"]
            code = int(args[0]) if args and re.fullmatch(r"-?\d+", args[0]) else 0
            io.finish(b"", b"", code)
            return code
        if prog in _INTERPRETED_NATIVE:
            # Native programs the read-only interpreter models (its module docstring); cmd.exe
            # hands them the line unchanged (a `|` pipe between them included).
            return self._interpret(
                shell, stripped, env, shell.working_directory, None, io, shell.codepage, cmd=True
            )
        message = f"'{token}' is not recognized as an internal or external command,{CRLF}"
        message += f"operable program or batch file.{CRLF}"
        io.finish(b"", self._cmd_out(shell, message), 1)
        return 1

    # --- powershell.exe -----------------------------------------------------------------------
    def _run_powershell(
        self, shell: ShellContext, args: list[str], env: dict[str, str], io: ProcessIO
    ) -> int:
        self.counters.add("powershell_launches")
        try:
            inv = parse_powershell_args(args)
        except PowerShellCommandLineError as exc:
            io.finish(b"", self._cmd_out(shell, str(exc) + CRLF), EXIT_BAD_COMMAND_LINE)
            return EXIT_BAD_COMMAND_LINE
        if inv.file is not None:
            message = (
                f"The argument '{inv.file}' to the -File parameter does not exist. Provide the path to an "
                "existing '.ps1' file as an argument to the -File parameter."
            )
            io.finish(b"", self._cmd_out(shell, message + CRLF), EXIT_BAD_COMMAND_LINE)
            return EXIT_BAD_COMMAND_LINE
        if inv.command is None:
            # "-Command -" (or no command): the script comes from stdin.
            script = io.read().decode(_python_codec(shell.codepage), errors="replace")
        else:
            script = inv.command
        return self._run_script_text(shell, _normalize(script), env, io)

    def _run_script_text(self, shell: ShellContext, script: str, env: dict[str, str], io: ProcessIO) -> int:
        winfra_stdin: str | None = None
        if script == _normalize(BOOTSTRAP):
            first = io.readline()
            second = io.readline()
            try:
                script = _normalize(base64.b64decode(first or b"").decode("utf-8"))
                if second:
                    winfra_stdin = base64.b64decode(second).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return self._fail_msg(io, shell.codepage, _BASE64_ERROR, error_id="FormatException")
        preamble = split_preamble(script)
        script = preamble.script
        codepage = 65001 if preamble.utf8 else shell.codepage
        env = {**env, **preamble.env}
        cwd = preamble.cwd or shell.working_directory
        if preamble.cwd is not None and not self.host.fs.is_dir(preamble.cwd):
            exc = missing_directory_error(preamble.cwd)
            return self._fail_msg(io, codepage, exc.message, category=exc.category, error_id=exc.error_id)
        header = parse_header(script)
        if header is not None:
            return self._dispatch_script(
                shell, header.name, header.mode, header.sha256, script, winfra_stdin, codepage, io
            )
        return self._interpret(shell, script, env, cwd, winfra_stdin, io, codepage)

    def _fail(self, io: ProcessIO, codepage: int, records: list[list[str]], code: int = 1) -> int:
        io.finish(b"", psoutput.console_encode(psoutput.clixml_errors(records), codepage), code)
        return code

    def _fail_msg(self, io: ProcessIO, codepage: int, message: str, **record: str) -> int:
        return self._fail(io, codepage, [psoutput.error_record_lines(message, **record)])

    # --- rendered scripts ---------------------------------------------------------------------
    def _dispatch_script(
        self,
        shell: ShellContext,
        name: str,
        mode: str,
        sha256: str,
        text: str,
        winfra_stdin: str | None,
        codepage: int,
        io: ProcessIO,
    ) -> int:
        host = self.host
        match = _RENDERED.match(text)
        try:
            shipped = load_script(name)
        except ScriptError as exc:
            return self._fail_msg(io, codepage, f"winsim: {exc}")
        if match is None:
            return self._fail_msg(
                io,
                codepage,
                f"winsim: the command claims to be winfra script '{name}' but is not a rendered "
                "invocation (header, '& {', body, '} -InputJson <literal>')",
            )
        body = match["body"]
        shipped_body = shipped.text if shipped.text.endswith("\n") else shipped.text + "\n"
        if sha256 != shipped.sha256 or body != shipped_body or mode != shipped.mode:
            return self._fail_msg(
                io,
                codepage,
                f"winsim: rendered script '{name}' does not match the shipped winfra/scripts/{name}.ps1 "
                f"(header sha256 {sha256}, shipped {shipped.sha256}); the controller and the "
                "simulator disagree on the script text",
            )
        try:
            params = json.loads(ps_unquote(match["literal"]))
        except (PowerShellQuotingError, ValueError) as exc:
            return self._fail_msg(
                io,
                codepage,
                f"Invalid JSON primitive in -InputJson: {exc}",
                error_id="System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand",
            )
        try:
            module = importlib.import_module(f"winfra.sim.scripts.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"winfra.sim.scripts.{name}":
                raise
            return self._fail_msg(
                io, codepage, f"winsim: no simulator counterpart winfra/sim/scripts/{name}.py for '{name}'"
            )
        self.counters.add_script(name)
        try:
            token = host.token(shell.user)
            elevated = token.elevated
        except Exception:
            elevated = True
        call = ScriptCall(
            host=host,
            params=params if isinstance(params, dict) else {"": params},
            user=shell.user,
            elevated=elevated,
            stdin=winfra_stdin,
            step_hook=self._step_hook,
        )

        def write_line(line: str) -> None:
            io.write_stdout(psoutput.console_encode(line + CRLF, codepage))

        stdout = ""
        stderr = b""
        code = 0
        try:
            run_stream = getattr(module, "run_stream", None)
            if run_stream is not None:
                result = run_stream(call, _text_lines(io, codepage), write_line)
            else:
                with host.lock:
                    result = module.run(call)
            stdout = (
                "".join(line + CRLF for line in call.extra_stdout) + psoutput.convert_to_json(result) + CRLF
            )
        except ScriptExit as exc:
            stdout = "".join(line + CRLF for line in call.extra_stdout)
            if exc.output is not None:
                stdout += psoutput.convert_to_json(exc.output) + CRLF
            code = exc.code
        except PowerShellError as exc:
            stdout = "".join(line + CRLF for line in call.extra_stdout)
            record = psoutput.error_record_lines(exc.message, category=exc.category, error_id=exc.error_id)
            stderr = psoutput.console_encode(psoutput.clixml_errors([record]), codepage)
            code = exc.exit_code
        finally:
            if mode == "write":
                # A wrapper (run_as_user: a scheduled task registered and deleted again) leaves
                # no change of its own; its counterpart counts the state change of what it ran.
                if not getattr(module, "COUNTS_OWN_STATE_CHANGES", False):
                    self.counters.add("state_changes")
                host.save()
        io.finish(psoutput.console_encode(stdout, codepage), stderr, code)
        return code

    def _step_hook(self, step: str) -> None:
        check = getattr(self.host, "check_step", None)
        if check is not None:
            check(step)
        else:
            with self.host.lock:
                self.host.faults.check(step)

    # --- everything else: the interpreter -----------------------------------------------------
    def _interpret(
        self,
        shell: ShellContext,
        script: str,
        env: dict[str, str],
        cwd: str | None,
        winfra_stdin: str | None,
        io: ProcessIO,
        codepage: int,
        cmd: bool = False,
    ) -> int:
        interpret = _load_interpreter()
        try:
            if interpret is None:
                out, err, code = _not_recognized(script)
            else:
                kwargs: dict[str, Any] = {}
                params = _accepted_kwargs(interpret)
                if "cwd" in params:
                    kwargs["cwd"] = cwd
                if "stdin" in params:
                    kwargs["stdin"] = winfra_stdin
                if cmd and "shell" in params:
                    kwargs["shell"] = "cmd"
                out, err, code = interpret(self.host, shell.user, script, env, **kwargs)
        except PowerShellError as exc:
            record = psoutput.error_record_lines(exc.message, category=exc.category, error_id=exc.error_id)
            return self._fail(io, codepage, [record], exc.exit_code)
        stdout = out if isinstance(out, bytes) else psoutput.console_encode(out, codepage)
        if isinstance(err, bytes):
            stderr = err
        elif err:
            lines = err.replace("\r\n", "\n").rstrip("\n").split("\n")
            stderr = psoutput.console_encode(psoutput.clixml_errors([lines]), codepage)
        else:
            stderr = b""
        io.finish(stdout, stderr, int(code))
        return int(code)


class _CaptureIO(ProcessIO):
    """One command of a cmd.exe sequence: reads the process's stdin, collects its output."""

    def __init__(self, real: ProcessIO) -> None:
        super().__init__(real._p)
        self._real = real
        self.out = bytearray()
        self.err = bytearray()

    def read(self, size: int = -1) -> bytes:
        return self._real.read(size)

    def readline(self) -> bytes | None:
        return self._real.readline()

    def write_stdout(self, data: bytes) -> None:
        self.out += data

    def write_stderr(self, data: bytes) -> None:
        self.err += data

    def finish(self, stdout: bytes, stderr: bytes, exit_code: int) -> None:
        self.out += stdout
        self.err += stderr


def _python_codec(codepage: int) -> str:
    return "utf-8" if codepage == 65001 else f"cp{codepage}"


def _text_lines(io: ProcessIO, codepage: int) -> Iterator[str]:
    codec = _python_codec(codepage)
    for raw in io.lines():
        yield raw.decode(codec, errors="replace")


def _load_interpreter() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("winfra.sim.shell.interpreter")
    except ModuleNotFoundError as exc:
        if exc.name != "winfra.sim.shell.interpreter":
            raise
        return None
    return getattr(module, "interpret", None)


def _accepted_kwargs(func: Callable[..., Any]) -> set[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return {"cwd", "stdin"}
    return set(sig.parameters)


def _not_recognized(script: str) -> tuple[str, str, int]:
    """Fallback while no interpreter exists: PowerShell's CommandNotFoundException for the first
    command word (the pypsrp CLIXML sample cited in :mod:`.psoutput`)."""
    for raw in script.split("\n"):
        line = raw.strip()
        if line and not line.startswith("#"):
            name = re.split(r"[\s;|(]", line, maxsplit=1)[0] or line
            return "", "\n".join(psoutput.not_recognized_lines(name, line)), 1
    return "", "", 0


# --- wiring a host to an endpoint ---------------------------------------------------------------


def host_users(host: SimHost, *, admitted_only: bool = True) -> dict[str, str]:
    """Local accounts that can log on (enabled, with a password) and whose password this process
    knows (the saved state holds only NT hashes; see ``SimHost.load``); with ``admitted_only``
    only those the WinRM service admits (members of WinRMSettings.allowed_groups)."""
    with host.lock:
        return {
            u.name: u.password
            for u in host.users.users.values()
            if u.enabled and u.password and (not admitted_only or host.can_connect_winrm(u.name))
        }


def host_credentials(host: SimHost) -> dict[str, str]:
    """What the endpoint authenticates against: every enabled account's NT hash (a password
    never leaves the model this way, and accounts reloaded from state still log on)."""
    from winfra.sim.protocol.auth import NTHash

    with host.lock:
        return {u.name: NTHash(u.nt_hash) for u in host.users.users.values() if u.enabled and u.nt_hash}


def host_endpoint(host: SimHost, *, port: int = 0, tls: bool = False, bind: str = "127.0.0.1") -> Any:
    """A started :class:`~winfra.sim.protocol.WinRMEndpoint` serving ``host``: its users, its WinRM
    settings (AllowUnencrypted, Basic, MaxEnvelopeSizekb, quotas), down while it reboots, and
    every connection dropped when it goes down."""
    from winfra.sim.protocol import WinRMEndpoint

    settings = host.winrm
    endpoint = WinRMEndpoint(
        HostExecutor(host),
        lambda: host_credentials(host),
        host=bind,
        port=port,
        tls=tls,
        allow_unencrypted=settings.allow_unencrypted,
        allow_basic=settings.auth_basic,
        max_envelope_kb=settings.max_envelope_size_kb,
        max_operations_per_user=settings.max_concurrent_operations_per_user,
        max_shells_per_user=settings.max_shells_per_user,
        availability=host.is_up,
        authorize=host.can_connect_winrm,
        counters=host.counters,
        machine_name=host.os.computer_name,
    )

    def on_reboot(_host: SimHost) -> None:
        # A reboot ends every TCP connection and every shell (the WinRM service restarts).
        endpoint.drop_all_connections()
        endpoint.reset_shells()

    host.add_reboot_listener(on_reboot)
    endpoint.on_stop.append(lambda: host.remove_reboot_listener(on_reboot))
    return endpoint.start()
