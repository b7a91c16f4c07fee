"""The ``@winrm`` connector: pyinfra 3 commands and files over one WinRS shell per host.

Inventory: ``"@winrm/10.0.0.5"`` (the name after ``@winrm/`` is the default ``winrm_hostname``).
Host data keys are listed in :data:`WinRMConnector.data_meta`; pyinfra's ``--user``,
``--password`` and ``--port`` (which only set ``ssh_user``/``ssh_password``/``ssh_port``,
pyinfra3-notes.md §1.9) are used where the ``winrm_*`` key is unset.

What it does for pyinfra (pyinfra3-notes.md §1.5-1.8, §6 checklist):

* ``connect()`` makes a real round trip: it opens the WinRS shell and runs the batched
  ``get_host_state`` script, whose output primes the fact cache; a rejected login is a
  ``ConnectError`` without the password;
* ``run_shell_command`` runs every command as Windows PowerShell 5.1 (``_shell_executable``
  ``"sh"``, None, ``"ps"`` and ``"powershell"``), or through cmd.exe for ``"cmd"``; it applies
  ``_env``, ``_chdir``, ``_timeout``, ``_stdin``, ``_success_exit_codes``, runs ``_su_user``
  commands through ``winfra.runas``, and refuses ``_sudo``/``_doas``/``_dzdo``;
* results of read-mode shipped scripts are cached for the run and the cache is dropped on any
  other command, an upload or a reconnect (docs/ARCHITECTURE.md "Facts and the round-trip
  budget"): pyinfra 3 evaluates each operation twice and does not cache facts (§2.2);
* ``put_file``/``get_file`` stream through one powershell.exe per file with SHA-256 checks on
  both ends; pyinfra's POSIX temp files are never used (§2.6).
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from collections.abc import Iterator
from io import IOBase
from typing import Any

import click
from pyinfra.api import HiddenValue, StringCommand
from pyinfra.api.exceptions import ConnectError, InventoryError
from pyinfra.api.output import format_text
from pyinfra.api.util import get_file_io
from pyinfra.connectors.base import BaseConnector, DataMeta
from pyinfra.connectors.util import CommandOutput, OutputLine
from typing_extensions import TypedDict

from winfra import pyinfra_speedups
from winfra.powershell import wire
from winfra.powershell.scripts import parse_header, rendered_script, script_result
from winfra.transport.base import (
    AuthenticationFailed,
    CommandTimeout,
    PowerShellSession,
    Result,
    SessionCounters,
    TransferError,
)
from winfra.transport.winrs import TransportConfigError, WinRSSession

logger = logging.getLogger(__name__)
# pyinfra loads this module for @winrm (and @winsim) hosts, before any operation runs.
pyinfra_speedups.install()

POWERSHELL_NAMES = {None, "", "sh", "ps", "powershell", "powershell.exe"}
CMD_NAMES = {"cmd", "cmd.exe"}
TRANSPORTS = {"ntlm", "kerberos", "credssp", "certificate", "basic"}
ENCRYPTING_TRANSPORTS = {"ntlm", "kerberos", "credssp"}
ESCALATION_ARGUMENTS = (
    "_sudo",
    "_sudo_user",
    "_use_sudo_login",
    "_doas",
    "_doas_user",
    "_dzdo",
    "_dzdo_user",
)
# Seconds the run-as wrapper gets beyond _timeout to stop and unregister its task.
RUNAS_CLEANUP_GRACE = 30
# The wrapper's message when the task outlived its timeout (winfra/scripts/run_as_user.ps1).
RUNAS_TIMEOUT_MARK = "did not finish within"
COUNTERS_KEY = "winfra_counters"
CONNECT_TIMEOUT_KEY = "winfra_connect_timeout"
HOST_INFO_KEY = "winfra_host_info"

# The listener command is the documented `winrm create winrm/config/Listener?...Transport=HTTPS`
# form (learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2003/cc782312(v=ws.10),
# still valid); HTTP only with message encryption: anchors-and-winrm.md §3.5.
HTTPS_HELP = (
    "Set up an HTTPS listener on the host (PowerShell as Administrator: "
    "$c = New-SelfSignedCertificate -DnsName <host name> -CertStoreLocation Cert:\\LocalMachine\\My; "
    "winrm create winrm/config/Listener?Address=*+Transport=HTTPS "
    '\'@{Hostname="<host name>";CertificateThumbprint="<$c.Thumbprint>"}\'; then allow TCP 5986 in the '
    "firewall) and use winrm_scheme='https' (winrm_ca_trust_path for a private CA), "
    "or set winrm_allow_insecure=True for a throw-away lab host."
)


def _check_thumbprint(where: str, value: Any, scheme: str, validation: str, ca_trust_path: Any) -> str:
    """``winrm_cert_thumbprint`` as 40 or 64 lowercase hex digits; spaces and colons are allowed.

    Windows shows a certificate's Thumbprint as the SHA-1 hash of its DER encoding ("The
    thumbprint is dynamically generated using the SHA1 algorithm", X509Certificate2.Thumbprint,
    learn.microsoft.com/previous-versions/windows/embedded/hh435828(v=msdn.10)); urllib3 compares
    either length with the certificate the server presents (``assert_fingerprint``).
    """
    text = re.sub(r"[\s:]", "", str(value)).lower()
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", text):
        raise WinRMSettingsError(
            f"{where}: winrm_cert_thumbprint must be the certificate's SHA-1 thumbprint (40 hex digits, "
            "as Get-ChildItem Cert:\\LocalMachine\\My and the bootstrap script print it) or its SHA-256 "
            "fingerprint (64 hex digits)"
        )
    if scheme != "https":
        raise WinRMSettingsError(f"{where}: winrm_cert_thumbprint needs winrm_scheme='https'")
    if validation == "ignore" or ca_trust_path:
        raise WinRMSettingsError(
            f"{where}: winrm_cert_thumbprint trusts one certificate; drop winrm_cert_validation='ignore' "
            "and winrm_ca_trust_path, which choose another way"
        )
    return text


class WinRMConnectorData(TypedDict, total=False):
    winrm_hostname: str
    winrm_port: int
    winrm_scheme: str
    winrm_user: str
    # A HiddenValue keeps the password out of pyinfra's own printing of host data.
    winrm_password: str | HiddenValue
    winrm_transport: str
    winrm_cert_validation: str
    winrm_ca_trust_path: str
    winrm_cert_thumbprint: str
    winrm_cert_pem: str
    winrm_cert_key_pem: str
    winrm_read_timeout_sec: int
    winrm_operation_timeout_sec: int
    winrm_message_encryption: str
    winrm_allow_insecure: bool


WINRM_DATA_META: dict[str, DataMeta] = {
    "winrm_hostname": DataMeta(
        "Host name or address of the WinRM endpoint (default: the name after @winrm/)"
    ),
    "winrm_port": DataMeta("TCP port (default 5986 for https, 5985 for http; falls back to --port)"),
    "winrm_scheme": DataMeta("https (default) or http", "https"),
    "winrm_user": DataMeta("User to log in as (falls back to --user); DOMAIN\\user or user@REALM"),
    "winrm_password": DataMeta("Password of winrm_user (falls back to --password)"),
    "winrm_transport": DataMeta(
        "Authentication: ntlm (default), kerberos, credssp, certificate, basic", "ntlm"
    ),
    "winrm_cert_validation": DataMeta(
        "Server certificate check for https: validate (default) or ignore", "validate"
    ),
    "winrm_ca_trust_path": DataMeta("CA bundle file or directory used to validate the server certificate"),
    "winrm_cert_thumbprint": DataMeta(
        "Trust exactly the server certificate with this SHA-1 thumbprint (as Windows and the bootstrap "
        "script print it) or SHA-256 fingerprint, instead of a CA (https only)"
    ),
    "winrm_cert_pem": DataMeta("Client certificate (PEM) for certificate authentication"),
    "winrm_cert_key_pem": DataMeta("Client certificate key (PEM) for certificate authentication"),
    "winrm_read_timeout_sec": DataMeta("HTTP read timeout in seconds; must exceed the operation timeout", 30),
    "winrm_operation_timeout_sec": DataMeta(
        "WS-Man operation timeout (long-poll Receive window), seconds", 20
    ),
    "winrm_message_encryption": DataMeta(
        "Message encryption over http: auto (default), always, never", "auto"
    ),
    "winrm_allow_insecure": DataMeta("Allow Basic auth or unencrypted messages over plain http", False),
}


class WinRMSettingsError(ValueError):
    """Invalid connector settings (reported as ConnectError naming the host and the setting)."""


class WinRMConnector(BaseConnector):
    """Run PowerShell on Windows hosts over WinRM (one WinRS shell per host)."""

    handles_execution = True
    data_cls = WinRMConnectorData
    data_meta = WINRM_DATA_META

    def __init__(self, state: Any, host: Any) -> None:
        super().__init__(state, host)
        self._session: PowerShellSession | None = None
        # (su_user, command text, env, chdir) -> Result of a read-mode script (ARCHITECTURE.md).
        self._fact_cache: dict[tuple[Any, ...], Result] = {}

    # -- inventory ----------------------------------------------------------------------------
    @staticmethod
    def make_names_data(name: str | None = None) -> Iterator[tuple[str, dict, list[str]]]:
        if not name:
            raise InventoryError("No host name given: write @winrm/<hostname or address>")
        yield f"@winrm/{name}", {"winrm_hostname": name}, []

    # -- settings -----------------------------------------------------------------------------
    @property
    def counters(self) -> SessionCounters:
        counters = self.host.connector_data.get(COUNTERS_KEY)
        if not isinstance(counters, SessionCounters):
            counters = SessionCounters()
            self.host.connector_data[COUNTERS_KEY] = counters
        return counters

    def _setting(self, key: str, fallback: str | None = None) -> Any:
        value = self.data.get(key)
        if value is None and fallback is not None:
            value = self.host.data.get(fallback)
        return value

    def settings(self) -> dict[str, Any]:
        """Validated connection settings; raises :class:`WinRMSettingsError` naming the fix."""
        where = f"host {self.host.name}"
        hostname = self._setting("winrm_hostname") or self.host.name.removeprefix("@winrm/")
        scheme = str(self._setting("winrm_scheme") or "https").lower()
        if scheme not in ("http", "https"):
            raise WinRMSettingsError(f"{where}: winrm_scheme must be 'https' or 'http', got {scheme!r}")
        port = self._setting("winrm_port", "ssh_port")
        if port is None:
            port = 5986 if scheme == "https" else 5985
        if not isinstance(port, int) or not 0 < port < 65536:
            raise WinRMSettingsError(f"{where}: winrm_port must be a TCP port number, got {port!r}")
        transport = str(self._setting("winrm_transport") or "ntlm").lower()
        if transport not in TRANSPORTS:
            raise WinRMSettingsError(
                f"{where}: winrm_transport must be one of {', '.join(sorted(TRANSPORTS))}, got {transport!r}"
            )
        validation = str(self._setting("winrm_cert_validation") or "validate").lower()
        if validation not in ("validate", "ignore"):
            raise WinRMSettingsError(f"{where}: winrm_cert_validation must be 'validate' or 'ignore'")
        encryption = str(self._setting("winrm_message_encryption") or "auto").lower()
        if encryption not in ("auto", "always", "never"):
            raise WinRMSettingsError(f"{where}: winrm_message_encryption must be 'auto', 'always' or 'never'")
        read_timeout = self._setting("winrm_read_timeout_sec")
        operation_timeout = self._setting("winrm_operation_timeout_sec")
        read_timeout = 30 if read_timeout is None else read_timeout
        operation_timeout = 20 if operation_timeout is None else operation_timeout
        if not (isinstance(operation_timeout, int) and operation_timeout >= 1):
            raise WinRMSettingsError(
                f"{where}: winrm_operation_timeout_sec must be a whole number of seconds >= 1"
            )
        if not (isinstance(read_timeout, int) and read_timeout > operation_timeout):
            raise WinRMSettingsError(
                f"{where}: winrm_read_timeout_sec ({read_timeout}) must be greater than "
                f"winrm_operation_timeout_sec ({operation_timeout}): the server may hold a Receive open "
                "for the whole operation timeout (pywinrm enforces the same rule)"
            )
        user = self._setting("winrm_user", "ssh_user")
        password = self._setting("winrm_password", "ssh_password")
        if isinstance(password, HiddenValue):
            password = password.unmask()
        cert_pem = self._setting("winrm_cert_pem")
        cert_key_pem = self._setting("winrm_cert_key_pem")
        if transport == "certificate":
            if not cert_pem or not cert_key_pem:
                raise WinRMSettingsError(
                    f"{where}: winrm_transport='certificate' needs winrm_cert_pem and winrm_cert_key_pem"
                )
            for key, path in (("winrm_cert_pem", cert_pem), ("winrm_cert_key_pem", cert_key_pem)):
                if not os.path.isfile(path):
                    raise WinRMSettingsError(f"{where}: {key} file {path!r} does not exist")
        elif transport != "kerberos":
            if not user:
                raise WinRMSettingsError(f"{where}: no user: set winrm_user (or pass --user)")
            if password is None:
                raise WinRMSettingsError(
                    f"{where}: no password for {user!r}: set winrm_password (or pass --password)"
                )
        allow_insecure = bool(self._setting("winrm_allow_insecure"))
        if scheme == "http" and not allow_insecure:
            if transport == "basic":
                raise WinRMSettingsError(
                    f"{where}: refusing Basic authentication over plain http: the password would cross "
                    f"the network in clear text (anchors-and-winrm.md §3.5). {HTTPS_HELP}"
                )
            if transport == "certificate":
                raise WinRMSettingsError(
                    f"{where}: certificate authentication needs https (it is a TLS client certificate). "
                    f"{HTTPS_HELP}"
                )
            if encryption == "never":
                raise WinRMSettingsError(
                    f"{where}: refusing plain http with winrm_message_encryption='never': every command "
                    f"and file would cross the network unencrypted. Use 'auto' (NTLM/Kerberos/CredSSP "
                    f"encrypt messages over http). {HTTPS_HELP}"
                )
            if encryption == "auto" and transport in ENCRYPTING_TRANSPORTS:
                # pywinrm's "auto" silently falls back to plain text over http when the auth
                # library cannot seal messages (an old pykerberos without WinRM encryption,
                # winrm/transport.py build_session); "always" makes that a connect error instead.
                encryption = "always"
        ca_trust_path = self._setting("winrm_ca_trust_path")
        if ca_trust_path and not os.path.exists(ca_trust_path):
            raise WinRMSettingsError(f"{where}: winrm_ca_trust_path {ca_trust_path!r} does not exist")
        thumbprint = self._setting("winrm_cert_thumbprint")
        if thumbprint:
            thumbprint = _check_thumbprint(where, thumbprint, scheme, validation, ca_trust_path)
        address = f"[{hostname}]" if ":" in hostname and not hostname.startswith("[") else hostname
        return {
            "endpoint": f"{scheme}://{address}:{port}/wsman",
            "username": user,
            "password": password,
            "auth": transport,
            "cert_validation": validation,
            "ca_trust_path": ca_trust_path,
            "cert_thumbprint": thumbprint or None,
            "cert_pem": cert_pem,
            "cert_key_pem": cert_key_pem,
            "read_timeout": read_timeout,
            "operation_timeout": operation_timeout,
            "message_encryption": encryption,
        }

    # -- connection ---------------------------------------------------------------------------
    def _connect_timeout(self) -> float | None:
        value = self.host.connector_data.get(CONNECT_TIMEOUT_KEY)
        return float(value) if value else None

    def connect(self) -> None:
        from winfra.facts.host import HostState

        self._fact_cache.clear()
        try:
            settings = self.settings()
        except WinRMSettingsError as exc:
            raise ConnectError(str(exc)) from None
        endpoint = settings["endpoint"]
        if self._session is None:
            try:
                self._session = WinRSSession(**settings, label=str(self.host.name), counters=self.counters)
            except TransportConfigError as exc:
                raise ConnectError(str(exc)) from None
        session = self._session
        session.set_connect_timeout(self._connect_timeout())
        command = HostState().command()
        try:
            session.open()
            result = session.run(command)
        except AuthenticationFailed:
            self._drop_session()
            raise ConnectError(
                f"WinRM authentication failed at {endpoint} (transport {settings['auth']}): the server "
                f"rejected the credentials of user {settings['username']!r}. Check winrm_user/"
                "winrm_password (or --user/--password) and that the account may use WinRM "
                "(Administrators or Remote Management Users)."
            ) from None
        except OSError as exc:
            self._drop_session()
            raise ConnectError(f"Could not connect to {endpoint}: {exc}") from None
        if result.rc != 0:
            self._drop_session()
            shown = " | ".join(result.stderr_lines[:5]) or " | ".join(result.stdout_lines[:5])
            raise ConnectError(
                f"Connected to {endpoint} but get_host_state failed (exit {result.rc}): {shown}"
            )
        info = self._read_host_info(result)
        self.host.connector_data[HOST_INFO_KEY] = info
        session.set_max_envelope_size_kb(info.get("max_envelope_size_kb"))
        self._fact_cache[self._cache_key(None, command, {}, None)] = result
        logger.debug(
            "%s: connected to %s (hostname %s, build %s, elevated %s)",
            self.host.name,
            endpoint,
            info.get("hostname"),
            info.get("build"),
            info.get("elevated"),
        )

    @staticmethod
    def _read_host_info(result: Result) -> dict[str, Any]:
        """hostname/build/elevated/max_envelope_size_kb from the ``windows`` section (may be null)."""
        data = script_result(result.stdout_lines)
        windows = data.get("windows") if isinstance(data, dict) else None
        if not isinstance(windows, dict):
            return {}
        return {key: windows.get(key) for key in ("hostname", "build", "elevated", "max_envelope_size_kb")}

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def disconnect(self) -> None:
        self._fact_cache.clear()
        self._drop_session()

    def _require_session(self) -> PowerShellSession:
        if self._session is None:
            # pyinfra connects before running anything; this covers a host used after disconnect.
            raise ConnectionError(f"{self.host.name}: not connected")
        self._session.set_connect_timeout(self._connect_timeout())
        return self._session

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def _cache_key(su_user: str | None, text: str, env: dict[str, str], chdir: str | None) -> tuple[Any, ...]:
        return (su_user or None, text, tuple(sorted(env.items())), chdir)

    def _refusal(self, arguments: dict[str, Any]) -> str | None:
        for key in ESCALATION_ARGUMENTS:
            if arguments.get(key):
                return (
                    f"{self.host.name}: {key} is a POSIX privilege escalation and has no meaning over "
                    "WinRM; connect as an administrator instead, or use _su_user to run as another "
                    "Windows user."
                )
        shell = arguments.get("_shell_executable")
        if shell not in POWERSHELL_NAMES and shell not in CMD_NAMES:
            return (
                f"{self.host.name}: _shell_executable={shell!r} is not supported over WinRM; use "
                "'powershell' (the default; 'sh' is treated as PowerShell) or 'cmd'."
            )
        return None

    def _echo_input(self, masked: str) -> None:
        header = parse_header(masked)
        if header is not None:
            # A rendered script is hundreds of lines; its name and parameters say what it does.
            lines = masked.rstrip().split("\n")
            masked = f"{lines[0]} ... {lines[-1].strip()}"
        click.echo(f"{self.host.print_prefix}>>> {masked}", err=True)

    def _output(self, result: Result, print_output: bool) -> CommandOutput:
        lines = [OutputLine("stdout", line) for line in result.stdout_lines]
        lines += [OutputLine("stderr", line) for line in result.stderr_lines]
        if print_output:
            for line in lines:
                text = line.line if line.buffer_name == "stdout" else format_text(line.line, "red")
                click.echo(f"{self.host.print_prefix}{text}", err=True)
        return CommandOutput(lines)

    def _failure(self, message: str) -> tuple[bool, CommandOutput]:
        logger.error(f"{self.host.print_prefix}{format_text(message, 'red')}")
        return False, CommandOutput([OutputLine("stderr", message)])

    def run_shell_command(
        self,
        command: StringCommand | str,
        print_output: bool = False,
        print_input: bool = False,
        **arguments: Any,
    ) -> tuple[bool, CommandOutput]:
        raw = command if isinstance(command, str) else command.get_raw_value()
        masked = command if isinstance(command, str) else command.get_masked_value()
        refusal = self._refusal(arguments)
        if refusal:
            return self._failure(refusal)
        given_env = arguments.get("_env") or {}
        env = {str(k): (v.unmask() if isinstance(v, HiddenValue) else str(v)) for k, v in given_env.items()}
        # A HiddenValue in the command or in _env is a secret: keep it off the command line.
        sensitive = masked != raw or any(isinstance(v, HiddenValue) for v in given_env.values())
        chdir = arguments.get("_chdir") or None
        timeout = arguments.get("_timeout") or None
        stdin = arguments.get("_stdin")
        su_user = arguments.get("_su_user") or None
        codes = arguments.get("_success_exit_codes") or [0]
        shell = arguments.get("_shell_executable")
        if isinstance(stdin, (list, tuple)):
            stdin = "\n".join(str(s) for s in stdin)
        if print_input:
            self._echo_input(masked)
        try:
            # Bad _env names or a NUL in _env/_chdir: refuse before anything reaches the host. The
            # ValueError would otherwise escape to pyinfra, which aborts the whole run (§1.8).
            wire.with_prologue("", env=env, chdir=chdir)
        except ValueError as exc:
            return self._failure(f"{self.host.name}: _env/_chdir cannot be passed to PowerShell: {exc}")
        session = self._require_session()

        # Exactly a rendered shipped script (never a header with more text after it, which may
        # change the host): a read-mode one may be cached, and any one may run in-process as
        # another user.
        rendered = rendered_script(raw)
        is_read = rendered is not None and rendered.mode == "read"
        cacheable = stdin is None and shell not in CMD_NAMES and is_read
        key = self._cache_key(su_user, raw, env, chdir)
        if cacheable and key in self._fact_cache:
            self.counters.add("fact_cache_hits")
            result = self._fact_cache[key]
            return result.rc in codes, self._output(result, print_output)
        if not cacheable:
            # Anything that is not a read-mode script may change the host: forget every cached
            # read. A read that missed the cache changes nothing, so the others stay valid.
            self._fact_cache.clear()

        if shell in CMD_NAMES and (env or chdir or su_user):
            return self._failure(
                f"{self.host.name}: _env, _chdir and _su_user need PowerShell; drop "
                "_shell_executable='cmd' (or call cmd.exe /c from PowerShell)"
            )
        resets = self.counters.server_resets
        try:
            if shell in CMD_NAMES:
                data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
                result = session.run_native(raw, data, timeout)
            elif su_user:
                in_process = rendered is not None
                result_or_error = self._run_as(
                    session, raw, su_user, arguments, env, chdir, timeout, stdin, in_process=in_process
                )
                if isinstance(result_or_error, str):
                    return self._failure(result_or_error)
                result = result_or_error
            else:
                result = session.run(
                    raw, stdin=stdin, env=env, chdir=chdir, timeout=timeout, sensitive=sensitive
                )
        finally:
            if self.counters.server_resets != resets:
                # The transport reconnected because the server lost our connection or shell (a
                # reboot, a WinRM restart): reads cached before may describe a host that changed.
                self._fact_cache.clear()

        if cacheable and result.rc == 0:
            self._fact_cache[key] = result
        return result.rc in codes, self._output(result, print_output)

    def _run_as(
        self,
        session: PowerShellSession,
        raw: str,
        su_user: str,
        arguments: dict[str, Any],
        env: dict[str, str],
        chdir: str | None,
        timeout: float | None,
        stdin: Any,
        *,
        in_process: bool,
    ) -> Result | str:
        from winfra import runas

        if stdin is not None:
            return (
                f"{self.host.name}: _stdin cannot be combined with _su_user (the run-as wrapper uses stdin "
                "for the target user's password)"
            )
        password = arguments.get("_su_password")
        if isinstance(password, HiddenValue):
            password = password.unmask()
        inner = wire.with_prologue(raw, env=env, chdir=chdir)
        try:
            script, wrapper_stdin = runas.run_as_user_command(
                inner,
                su_user,
                password,
                math.ceil(timeout) if timeout else None,
                in_process=in_process,
            )
        except runas.RunAsError as exc:
            return f"{self.host.name}: {exc}"
        # The wrapper enforces _timeout on the task itself and then stops and unregisters it and
        # deletes its directory (run_as_user.ps1 `finally`). Terminating the wrapper at the same
        # moment would skip that clean-up and leave a registered task (holding the password for
        # a batch logon) and the inner script on disk: give it room to finish.
        outer_timeout = timeout + RUNAS_CLEANUP_GRACE if timeout else None
        outer = session.run(script, stdin=wrapper_stdin, timeout=outer_timeout)
        if outer.rc != 0:
            expired = next((line for line in outer.stderr_lines if RUNAS_TIMEOUT_MARK in line), None)
            if expired is not None:
                # pyinfra's _timeout contract: a TimeoutError; the host stays usable.
                raise CommandTimeout(f"{self.host.name}: {expired.strip()}")
            return outer
        try:
            rc, out, err = runas.parse_run_as_output(outer.stdout_lines)
        except runas.RunAsError as exc:
            return f"{self.host.name}: {exc}"
        return Result(rc, out, err)

    # -- files --------------------------------------------------------------------------------
    def put_file(
        self,
        filename_or_io: str | IOBase,
        remote_filename: str,
        remote_temp_filename: str | None = None,
        print_output: bool = False,
        print_input: bool = False,
        **arguments: Any,
    ) -> bool:
        """Upload to ``remote_filename`` (temp file next to it, SHA-256 checked, then replace).

        ``remote_temp_filename`` is ignored: the script picks its own temp name in the target
        directory, so the final move is atomic on the same volume.
        """
        session = self._require_session()
        # An upload changes the host whatever happens next.
        self._fact_cache.clear()
        if print_input:
            click.echo(f"{self.host.print_prefix}>>> upload {remote_filename}", err=True)
        try:
            with get_file_io(filename_or_io, "rb") as stream:
                result = session.put(stream, remote_filename, timeout=arguments.get("_timeout") or None)
        except TransferError as exc:
            logger.error(f"{self.host.print_prefix}{format_text(str(exc), 'red')}")
            return False
        if print_output:
            click.echo(
                f"{self.host.print_prefix}uploaded {result.size} bytes, sha256 {result.sha256}", err=True
            )
        return True

    def get_file(
        self,
        remote_filename: str,
        filename_or_io: str | IOBase,
        remote_temp_filename: str | None = None,
        print_output: bool = False,
        print_input: bool = False,
        **arguments: Any,
    ) -> bool:
        """Download ``remote_filename``; a local path is written to a temp file and renamed."""
        session = self._require_session()
        timeout = arguments.get("_timeout") or None
        if print_input:
            click.echo(f"{self.host.print_prefix}>>> download {remote_filename}", err=True)
        try:
            if isinstance(filename_or_io, str):
                # A name of its own next to the target (same file system, so the rename is atomic):
                # hosts downloading to the same path at once never share a partial file.
                directory, base = os.path.split(os.path.abspath(filename_or_io))
                fd, partial = tempfile.mkstemp(prefix=f"{base}.", suffix=".winfra-partial", dir=directory)
                try:
                    with os.fdopen(fd, "wb") as stream:
                        result = session.get(remote_filename, stream, timeout=timeout)
                    os.replace(partial, filename_or_io)
                finally:
                    if os.path.exists(partial):
                        os.unlink(partial)
            else:
                result = session.get(remote_filename, filename_or_io, timeout=timeout)  # type: ignore[arg-type]
        except TransferError as exc:
            logger.error(f"{self.host.print_prefix}{format_text(str(exc), 'red')}")
            return False
        if print_output:
            click.echo(
                f"{self.host.print_prefix}downloaded {result.size} bytes, sha256 {result.sha256}", err=True
            )
        return True
