"""``WinRSSession``: a :class:`PowerShellSession` over ONE WinRS shell per host (pywinrm).

pywinrm's ``Session.run_ps`` opens and deletes a shell and drops the HTTP session on every call
(5 round trips plus TCP/TLS and a fresh NTLM handshake; anchors-and-winrm.md §3.1). Like
Ansible's winrm plugin (§1.1) we drive ``winrm.protocol.Protocol`` directly and keep one shell:

* open once: ``Create`` with ``WINRS_CODEPAGE=65001`` (UTF-8) and ``WINRS_NOPROFILE``;
* per command: ``Command`` + ``Receive`` (≥1) + ``Signal`` = 3 HTTP requests for a short
  command, plus one ``Send`` per stdin chunk when there is stdin;
* ``Receive`` long-polls up to the operation timeout; the OperationTimeout fault
  (2150858793) is retried silently (Ansible ``_winrm_get_command_output``, §1.1);
* the shell is recreated when the server dropped it (fault 2150858843, "the shell was not found
  on the server": WinRb/WinRM#253, #273, pypsrp#22), on the quota fault 0x803381A6
  (MaxConcurrentOperationsPerUser 1,500; ``Signal`` terminate does not decrement it, so the
  shell is also recycled before :data:`RECYCLE_AFTER` commands: §3.3, ansible/ansible#83656,
  WinRb/WinRM resets at 1,498), and after a connection reset (reboot). A command is retried once
  on a fresh shell only when the failure proves it never started (a fault answering ``Command``,
  or no connection could be made); a command that may have run is never re-run.

Every library error is mapped to :class:`TransportError` (OSError), :class:`CommandTimeout`
(TimeoutError) or :class:`AuthenticationFailed` (pyinfra3-notes.md §1.8).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import requests
import requests.adapters
from urllib3.exceptions import NewConnectionError
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol
from winrm.transport import Transport

from winfra.powershell import wire
from winfra.powershell.scripts import render_script
from winfra.transport.base import (
    AuthenticationFailed,
    CommandTimeout,
    PowerShellSession,
    Result,
    SessionCounters,
    TransferError,
    TransferResult,
    TransportError,
)
from winfra.transport.clixml import decode_stderr, split_lines

logger = logging.getLogger(__name__)

# MS WSMan fault codes (decimal, as in <f:WSManFault Code="...">).
FAULT_SHELL_NOT_FOUND = 2150858843  # 0x8033805B, WinRb/WinRM#253
FAULT_OPERATION_TIMEOUT = 2150858793  # 0x80338029, pywinrm maps it to WinRMOperationTimeoutError
FAULT_QUOTA_MAX_OPERATIONS = 0x803381A6  # 2150859174, anchors-and-winrm.md §3.3

# Recycle the shell before MaxConcurrentOperationsPerUser (1,500) is reached (§3.3).
RECYCLE_AFTER = 1400
# MaxEnvelopeSizekb: "SHOULD be 500 but MAY be 150" (MS-WSMV 2.2.4.10, anchors §3.3).
DEFAULT_MAX_ENVELOPE_KB = 500
# pywinrm's own MaxEnvelopeSize header, safe on every server until we know the real limit.
SAFE_RESPONSE_ENVELOPE = 153600
# Room for the SOAP envelope around a Send's base64 payload (headers, selectors, encryption
# framing); a Send envelope is ~1.5 KB, this leaves a wide margin.
ENVELOPE_OVERHEAD = 8192
# Raw bytes per base64 line in get_file.ps1's output (a multiple of 3: no padding mid-file).
DOWNLOAD_CHUNK = 3 * 65536

# HTTP statuses from an intermediary that may have forwarded the request: never proof that a
# Command did not run.
GATEWAY_ERRORS = frozenset({502, 504})

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"


class TransportConfigError(ValueError):
    """The session settings are invalid (checked before any network traffic)."""


# -- pywinrm plumbing ---------------------------------------------------------------------------


class _CountingAdapter(requests.adapters.HTTPAdapter):
    """Counts every HTTP request, including the NTLM handshake legs requests_ntlm sends itself
    through ``response.connection`` (which is this adapter)."""

    def __init__(self, counters: SessionCounters, fingerprint: str | None = None) -> None:
        # Set before HTTPAdapter.__init__, which builds the pool manager.
        self._fingerprint = fingerprint
        super().__init__()
        self._counters = counters

    def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
        if self._fingerprint:
            # urllib3 then compares the server certificate's digest with the pin on every TLS
            # connection and refuses any other certificate (urllib3 util/ssl_.assert_fingerprint).
            pool_kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **pool_kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self._counters.add("http_requests")
        body = request.body
        if body:
            self._counters.add("bytes_sent", len(body))
        return super().send(request, *args, **kwargs)


class _CountingTransport(Transport):
    """pywinrm's Transport with a counting adapter mounted on each new requests session."""

    counters: SessionCounters
    fingerprint: str | None = None

    def _send_message_request(
        self, session: requests.Session, prepared_request: requests.PreparedRequest
    ) -> requests.Response:
        # Mounted here because build_session() already sends the empty POST that sets up
        # message encryption before returning; this method sees that request too.
        if not isinstance(session.get_adapter(self.endpoint), _CountingAdapter):
            adapter = _CountingAdapter(self.counters, self.fingerprint)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        response = super()._send_message_request(session, prepared_request)
        self.counters.add("bytes_received", len(response.content or b""))
        return response


class _Protocol(Protocol):
    """pywinrm's Protocol with a settable MaxEnvelopeSize header, a per-Receive operation
    timeout (for ``_timeout``) and message counting."""

    def __init__(
        self, *args: Any, counters: SessionCounters, fingerprint: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Same object, our subclass: keeps every argument pywinrm validated in __init__.
        self.transport.__class__ = _CountingTransport
        self.transport.counters = counters  # type: ignore[attr-defined]
        self.transport.fingerprint = fingerprint  # type: ignore[attr-defined]
        self.counters = counters
        self.response_envelope = SAFE_RESPONSE_ENVELOPE
        self.receive_timeout: int | None = None

    def build_wsman_header(
        self,
        action: str,
        resource_uri: str,
        shell_id: str | None = None,
        message_id: Any = None,
    ) -> dict[str, Any]:
        header = super().build_wsman_header(action, resource_uri, shell_id, message_id)
        fields = header["env:Header"]
        # The client's MaxEnvelopeSize bounds each response; pywinrm fixes it at 153,600, which
        # costs extra Receive round trips for large output (anchors-and-winrm.md §3.3).
        fields["w:MaxEnvelopeSize"]["#text"] = str(self.response_envelope)
        if self.receive_timeout is not None and action.endswith("/Receive"):
            fields["w:OperationTimeout"] = f"PT{self.receive_timeout}S"
        return header

    def send_message(self, message: str) -> bytes:
        self.counters.add("wsman_messages")
        return super().send_message(message)


# -- helpers ------------------------------------------------------------------------------------


def _wsman_codes(exc: BaseException) -> set[int]:
    codes: set[int] = set()
    if isinstance(exc, WSManFaultError):
        for code in (exc.wsman_fault_code, exc.wmierror_code):
            if code is not None:
                codes.add(int(code))
    return codes


def _never_connected(exc: BaseException) -> bool:
    """True when no request reached the server (connection refused or connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, NewConnectionError)
    return False


def send_chunk_size(max_envelope_kb: int) -> int:
    """Raw stdin bytes per ``Send`` so the base64 body fits the server's MaxEnvelopeSizekb."""
    payload = max_envelope_kb * 1024 - ENVELOPE_OVERHEAD
    return max(3, payload * 3 // 4 // 3 * 3)


def upload_line_size(max_envelope_kb: int) -> int:
    """Raw file bytes per base64 line so that one line (plus CRLF) fits one ``Send``."""
    line_budget = send_chunk_size(max_envelope_kb) - 2
    return max(3, line_budget * 3 // 4 // 3 * 3)


def _hash_stream(stream: BinaryIO) -> tuple[BinaryIO, str, int, Callable[[], None]]:
    """SHA-256 and size of ``stream``; returns a stream positioned at the data to send.

    A seekable stream is read twice (hash, then send); anything else is spooled to a temporary
    file first so memory stays bounded.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        start = stream.tell()
        stream.seek(start)
        seekable = True
    except (OSError, AttributeError, ValueError):
        seekable = False
    if seekable:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        stream.seek(start)
        return stream, digest.hexdigest(), size, lambda: None
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, digest.hexdigest(), size, spool.close  # type: ignore[return-value]


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


# -- the session --------------------------------------------------------------------------------


class WinRSSession(PowerShellSession):
    """One WinRS shell on one host, reused for every command of the run."""

    def __init__(
        self,
        endpoint: str,
        *,
        username: str | None = None,
        password: str | None = None,
        auth: str = "ntlm",
        cert_validation: str = "validate",
        ca_trust_path: str | None = None,
        cert_thumbprint: str | None = None,
        cert_pem: str | None = None,
        cert_key_pem: str | None = None,
        read_timeout: int = 30,
        operation_timeout: int = 20,
        message_encryption: str = "auto",
        label: str | None = None,
        recycle_after: int = RECYCLE_AFTER,
        counters: SessionCounters | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.label = label or endpoint
        self.username = username
        self.counters = counters or SessionCounters()
        self.recycle_after = recycle_after
        self.read_timeout = int(read_timeout)
        self.operation_timeout = int(operation_timeout)
        self.max_envelope_kb = DEFAULT_MAX_ENVELOPE_KB
        self._shell_id: str | None = None
        self._ops_on_shell = 0
        self._authenticated = False
        self._connect_timeout: float | None = None
        try:
            self._protocol = _Protocol(
                endpoint,
                transport=auth,  # type: ignore[arg-type]
                username=username,
                password=password,
                ca_trust_path=ca_trust_path,  # type: ignore[arg-type]
                cert_pem=cert_pem,
                cert_key_pem=cert_key_pem,
                # A pinned certificate replaces CA validation (a self-signed listener has no CA
                # to check against); the adapter checks the pin on every connection instead.
                server_cert_validation="ignore" if cert_thumbprint else cert_validation,  # type: ignore[arg-type]
                read_timeout_sec=self.read_timeout,
                operation_timeout_sec=self.operation_timeout,
                message_encryption=message_encryption,  # type: ignore[arg-type]
                # Never pick a proxy up from the environment: the endpoint is given explicitly.
                proxy=None,
                counters=self.counters,
                fingerprint=cert_thumbprint,
            )
        except (WinRMError, ValueError) as exc:
            # pywinrm validates credentials presence, cert files and timeouts here; its messages
            # never contain the password.
            raise TransportConfigError(f"{self.label}: invalid WinRM settings: {exc}") from None

    # -- settings ---------------------------------------------------------------------------
    @property
    def shell_id(self) -> str | None:
        return self._shell_id

    def set_max_envelope_size_kb(self, kb: int | None) -> None:
        """Use the server's MaxEnvelopeSizekb for Send chunks and Receive responses.

        pypsrp does the same: ``WSMan.update_max_envelope_size()`` reads MaxEnvelopeSizekb and
        sends ``MaxEnvelopeSizekb * 1024`` as the MaxEnvelopeSize header (pypsrp 0.9.1 wsman.py).
        """
        if kb and kb >= 32:
            self.max_envelope_kb = int(kb)
            self._protocol.response_envelope = int(kb) * 1024

    def set_connect_timeout(self, seconds: float | None) -> None:
        """A short connect/read timeout (the reboot wait loop), or None for the normal ones."""
        self._connect_timeout = seconds
        if seconds:
            op = self._operation_timeout()
            self._protocol.transport.read_timeout_sec = (seconds, op + seconds)  # type: ignore[assignment]
        else:
            self._protocol.transport.read_timeout_sec = self.read_timeout

    def _operation_timeout(self) -> int:
        if self._connect_timeout:
            return max(1, min(self.operation_timeout, math.ceil(self._connect_timeout)))
        return self.operation_timeout

    # -- error mapping ----------------------------------------------------------------------
    def _map(self, exc: BaseException, operation: str) -> OSError:
        where = f"{self.label}: WinRM {operation}"
        if isinstance(exc, (CommandTimeout, TransportError)):
            return exc
        if isinstance(exc, InvalidCredentialsError):
            who = f" for user {self.username!r}" if self.username else ""
            return AuthenticationFailed(f"{self.label}: the server rejected the credentials{who} (HTTP 401)")
        if isinstance(exc, WSManFaultError):
            codes = ", ".join(f"0x{c:08X}" for c in sorted(_wsman_codes(exc))) or f"HTTP {exc.code}"
            return TransportError(f"{where} failed: {exc.reason.strip()} ({codes})")
        if isinstance(exc, WinRMTransportError):
            return TransportError(f"{where} failed: HTTP {exc.code} from the server")
        if isinstance(exc, requests.exceptions.Timeout):
            return TimeoutError(f"{where} timed out: {exc}")
        if isinstance(exc, requests.exceptions.SSLError):
            return TransportError(f"{where} failed: TLS error: {exc}")
        if isinstance(exc, requests.exceptions.RequestException):
            return TransportError(f"{where} failed: {exc}")
        if isinstance(exc, (WinRMError, WinRMOperationTimeoutError)):
            hint = ""
            if "is not installed" in str(exc):
                # pyproject.toml extras: winfra[kerberos] (pykerberos), winfra[credssp].
                hint = " (install the extra: pip install 'winfra[kerberos]' or 'winfra[credssp]')"
            return TransportError(f"{where} failed: {exc}{hint}")
        if isinstance(exc, (ET.ParseError, StopIteration, AssertionError, KeyError, ValueError)):
            return TransportError(f"{where}: unexpected response from the server ({type(exc).__name__})")
        if isinstance(exc, OSError):
            return exc
        return TransportError(f"{where} failed: {type(exc).__name__}: {exc}")

    def _call(self, operation: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a pywinrm method, mapping its errors (and remembering a successful login)."""
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            # WinRMOperationTimeoutError included: it is a plain Exception, and one escaping
            # open() would abort the whole pyinfra run instead of failing this host (§1.8).
            raise self._map(exc, operation) from exc
        self._authenticated = True
        return result

    # -- shell lifecycle --------------------------------------------------------------------
    def open(self) -> None:
        if self._shell_id is None:
            self._open_shell()

    def _open_shell(self) -> None:
        shell_id = self._call(
            "Create shell",
            self._protocol.open_shell,
            codepage=65001,
            noprofile=True,
        )
        self._shell_id = shell_id
        self._ops_on_shell = 0
        self.counters.add("shells_opened")
        logger.debug("%s: opened WinRS shell %s", self.label, shell_id)

    def _delete_shell_quietly(self) -> None:
        shell_id, self._shell_id = self._shell_id, None
        if shell_id is None:
            return
        try:
            self._protocol.close_shell(shell_id, close_session=False)
        except Exception as exc:  # a dead host or an already deleted shell (WinRb/WinRM#261)
            logger.debug("%s: ignoring error deleting shell %s: %s", self.label, shell_id, exc)

    def _reset_connection(self) -> None:
        """Forget the HTTP session (and its auth/encryption context) and the shell."""
        self.counters.add("server_resets")
        self._shell_id = None
        try:
            self._protocol.transport.close_session()
        except Exception:
            pass
        self._protocol.transport.encryption = None

    def _recover_from(self, exc: BaseException) -> None:
        """Bring the session into a state where the next command can work."""
        codes = _wsman_codes(exc)
        if FAULT_SHELL_NOT_FOUND in codes:
            self.counters.add("server_resets")
            self._shell_id = None
        elif FAULT_QUOTA_MAX_OPERATIONS in codes:
            self._delete_shell_quietly()
        elif isinstance(
            exc, (requests.exceptions.RequestException, InvalidCredentialsError, WinRMTransportError, OSError)
        ):
            # The connection or its NTLM/encryption context is gone (reboot, service restart):
            # start the next request from a fresh TCP connection, login and shell.
            self._reset_connection()

    def _cannot_have_run(self, exc: BaseException) -> bool:
        codes = _wsman_codes(exc)
        if codes & {FAULT_SHELL_NOT_FOUND, FAULT_QUOTA_MAX_OPERATIONS}:
            return True
        if _never_connected(exc):
            return True
        if (
            isinstance(exc, WinRMTransportError)
            and exc.code not in GATEWAY_ERRORS
            and not str(exc.response_text or "").strip()
        ):
            # An HTTP error with no SOAP body: the HTTP/auth layer refused the request (after a
            # reboot the server cannot decrypt a body sealed with the old NTLM session key), so
            # WinRM never processed it; WS-Man processing errors come back as SOAP faults.
            # A gateway error (502/504 from a proxy) is excluded: the proxy may have forwarded
            # the Command before giving up on the answer (RFC 9110 §15.6.3, §15.6.5).
            return True
        # The server rejected the request before running anything: the auth context it knew was
        # lost (the host rebooted, or the service restarted) after we had logged in once.
        return isinstance(exc, InvalidCredentialsError) and self._authenticated

    def close(self) -> None:
        try:
            self._delete_shell_quietly()
        finally:
            try:
                self._protocol.transport.close_session()
            except Exception:
                pass

    # -- commands ---------------------------------------------------------------------------
    def _start_command(self, command_line: str, with_stdin: bool, powershell: bool = True) -> str:
        for attempt in (1, 2):
            try:
                if self._shell_id is not None and self._ops_on_shell >= self.recycle_after:
                    logger.debug("%s: recycling the shell after %d commands", self.label, self._ops_on_shell)
                    self._delete_shell_quietly()
                    self.counters.add("shells_recycled")
                if self._shell_id is None:
                    self._open_shell()
                # WINRS_CONSOLEMODE_STDIN off when we pipe data in, as Ansible does (§1.1).
                command_id = self._protocol.run_command(
                    self._shell_id, command_line, console_mode_stdin=not with_stdin
                )
            except AuthenticationFailed:
                raise
            except Exception as exc:
                cause = exc.__cause__ if isinstance(exc, TransportError) and exc.__cause__ else exc
                retry = attempt == 1 and self._cannot_have_run(cause)
                self._recover_from(cause)
                if not retry:
                    if isinstance(exc, TransportError):
                        raise  # already mapped (a failed Create shell says so)
                    raise self._map(cause, "Command") from cause
                if _wsman_codes(cause):
                    self.counters.add("shells_recycled")
                logger.info("%s: %s; retrying on a new shell", self.label, self._map(cause, "Command"))
                continue
            self._authenticated = True
            self._ops_on_shell += 1
            self.counters.add("commands")
            if powershell:
                # Every PowerShell command is one powershell.exe (wire.py builds them that way).
                self.counters.add("powershell_launches")
            return command_id
        raise AssertionError("unreachable")

    def _signal(self, command_id: str, quiet: bool) -> None:
        shell_id = self._shell_id
        if shell_id is None:
            return
        try:
            self._protocol.cleanup_command(shell_id, command_id)
        except Exception as exc:
            # The command has finished (or is being abandoned): a failed Signal must not hide its
            # result. Make sure the next command starts from a sane state.
            self._recover_from(exc)
            if not quiet:
                logger.debug("%s: Signal failed: %s", self.label, exc)

    def _send_stdin(self, command_id: str, chunks: Iterable[bytes], deadline: float | None) -> None:
        iterator = iter(chunks)
        current = next(iterator, b"")
        while True:
            upcoming = next(iterator, None)
            if deadline is not None and time.monotonic() >= deadline:
                raise CommandTimeout("timed out while sending input")
            try:
                self._protocol.send_command_input(self._shell_id, command_id, current, end=upcoming is None)
            except WSManFaultError as exc:
                # The process stopped reading (it failed early): its error is in the output.
                logger.debug("%s: Send refused (%s); collecting the command's output", self.label, exc)
                return
            except Exception as exc:
                raise self._map(exc, "Send") from exc
            if upcoming is None:
                return
            current = upcoming

    def _receive(
        self,
        command_id: str,
        deadline: float | None,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
    ) -> int:
        while True:
            budget = self._operation_timeout()
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CommandTimeout("timed out")
                budget = max(1, min(budget, math.ceil(remaining)))
            self._protocol.receive_timeout = budget
            try:
                stdout, stderr, rc, done = self._protocol.get_command_output_raw(self._shell_id, command_id)
            except WinRMOperationTimeoutError:
                # No output within the long-poll window: the command is still running (§1.1).
                self.counters.add("receive_timeouts")
                continue
            except Exception as exc:
                raise self._map(exc, "Receive") from exc
            finally:
                self._protocol.receive_timeout = None
            if stdout:
                on_stdout(stdout)
            if stderr:
                on_stderr(stderr)
            if done:
                return rc

    def execute(
        self,
        command_line: str,
        stdin: Iterable[bytes] | None = None,
        timeout: float | None = None,
        on_stdout: Callable[[bytes], None] | None = None,
        powershell: bool = True,
    ) -> tuple[int, bytes, bytes]:
        """Run one raw WinRS command line; stdout goes to ``on_stdout`` when given.

        ``powershell`` says whether the line starts powershell.exe (for the counters).
        """
        deadline = time.monotonic() + timeout if timeout else None
        out = bytearray()
        err = bytearray()
        command_id = self._start_command(command_line, with_stdin=stdin is not None, powershell=powershell)
        try:
            if stdin is not None:
                self._send_stdin(command_id, stdin, deadline)
            rc = self._receive(command_id, deadline, on_stdout or out.extend, err.extend)
        except CommandTimeout as exc:
            self.counters.add("command_timeouts")
            self._signal(command_id, quiet=True)
            raise CommandTimeout(
                f"{self.label}: command timed out after {timeout}s and was terminated"
            ) from exc
        except BaseException as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, requests.exceptions.RequestException):
                # The connection is gone (reboot, network): a Signal would only wait for another
                # timeout. Start the next command from a fresh connection and shell instead.
                self._reset_connection()
            else:
                self._signal(command_id, quiet=True)
                if isinstance(exc, OSError):
                    self._recover_from(cause)
            raise
        self._signal(command_id, quiet=False)
        return rc, bytes(out), bytes(err)

    def run(
        self,
        script: str,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        chdir: str | None = None,
        timeout: float | None = None,
        sensitive: bool = False,
    ) -> Result:
        command = wire.build(script, stdin=stdin, env=env, chdir=chdir, sensitive=sensitive)
        chunks = None
        if command.stdin is not None:
            chunks = _chunks(command.stdin, send_chunk_size(self.max_envelope_kb))
        rc, out, err = self.execute(command.command_line, chunks, timeout)
        return _result(rc, out, err)

    def run_native(
        self, command_line: str, stdin: bytes | None = None, timeout: float | None = None
    ) -> Result:
        chunks = (
            None
            if stdin is None
            else _chunks(stdin, send_chunk_size(self.max_envelope_kb))
            if stdin
            else [b""]
        )
        rc, out, err = self.execute(command_line, chunks, timeout, powershell=False)
        return _result(rc, out, err)

    # -- files ------------------------------------------------------------------------------
    def _direct_command(self, script_name: str, params: Mapping[str, Any]) -> str:
        """A shipped script as a direct ``-EncodedCommand`` (stdin stays free for data)."""
        line = wire.command_line(wire.with_prologue(render_script(script_name, params)))
        if len(line) > wire.CMD_LINE_LIMIT:
            raise TransferError(
                f"{self.label}: the {script_name} command line is {len(line)} characters, over cmd.exe's "
                f"{wire.CMD_LINE_LIMIT} (is the remote path unusually long?)"
            )
        return line

    def put(self, local_stream: BinaryIO, remote_path: str, timeout: float | None = None) -> TransferResult:
        stream, sha256, size, cleanup = _hash_stream(local_stream)
        try:
            command_line = self._direct_command(
                "put_file", {"path": remote_path, "sha256": sha256, "size": size}
            )
            line_size = upload_line_size(self.max_envelope_kb)

            def lines() -> Iterator[bytes]:
                while chunk := stream.read(line_size):
                    yield base64.b64encode(chunk) + b"\r\n"

            rc, out, err = self.execute(command_line, self._tamper_upload(lines()), timeout)
        finally:
            cleanup()
        stdout_lines = split_lines(out.decode("utf-8", "replace"))
        errors = decode_stderr(err.decode("utf-8", "replace"))
        if rc != 0:
            raise TransferError(
                f"{self.label}: upload to {remote_path} failed: {_first(errors, stdout_lines)}"
            )
        answer = _last_json(stdout_lines)
        remote_sha = str(answer.get("sha256", "")).lower() if answer else ""
        if remote_sha != sha256:
            raise TransferError(
                f"{self.label}: upload to {remote_path}: SHA-256 mismatch "
                f"(local {sha256}, remote {remote_sha or 'missing'})"
            )
        self.counters.add("files_put")
        return TransferResult(size, sha256)

    def get(self, remote_path: str, local_stream: BinaryIO, timeout: float | None = None) -> TransferResult:
        command_line = self._direct_command("get_file", {"path": remote_path, "chunk_size": DOWNLOAD_CHUNK})
        digest = hashlib.sha256()
        state: dict[str, Any] = {"size": 0, "trailer": None, "bad": None}
        pending = bytearray()

        def handle_line(line: bytes) -> None:
            line = line.rstrip(b"\r")
            if not line:
                return
            if line.startswith(b"{"):
                state["trailer"] = line
                return
            if state["trailer"] is not None or state["bad"] is not None:
                state["bad"] = state["bad"] or "data after the trailer"
                return
            try:
                data = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError):
                state["bad"] = "a line that is not base64"
                return
            digest.update(data)
            local_stream.write(data)
            state["size"] += len(data)

        def on_stdout(data: bytes) -> None:
            pending.extend(self._tamper_download(data))
            start = 0
            while (newline := pending.find(b"\n", start)) != -1:
                handle_line(bytes(pending[start:newline]))
                start = newline + 1
            del pending[:start]

        rc, _, err = self.execute(command_line, None, timeout, on_stdout=on_stdout)
        if pending:
            handle_line(bytes(pending))
        errors = decode_stderr(err.decode("utf-8", "replace"))
        if rc != 0:
            raise TransferError(f"{self.label}: download of {remote_path} failed: {_first(errors, [])}")
        if state["bad"]:
            raise TransferError(f"{self.label}: download of {remote_path}: corrupt stream ({state['bad']})")
        try:
            trailer = json.loads(state["trailer"] or b"null")
        except json.JSONDecodeError:
            trailer = None
        local_sha = digest.hexdigest()
        remote_sha = str(trailer.get("sha256", "")).lower() if isinstance(trailer, dict) else ""
        if remote_sha != local_sha:
            raise TransferError(
                f"{self.label}: download of {remote_path}: SHA-256 mismatch "
                f"(remote {remote_sha or 'missing'}, received {local_sha})"
            )
        self.counters.add("files_got")
        return TransferResult(state["size"], local_sha)

    # Test seams: identity here; tests override them to corrupt data in flight.
    def _tamper_upload(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        return lines

    def _tamper_download(self, data: bytes) -> bytes:
        return data


def _result(rc: int, out: bytes, err: bytes) -> Result:
    """A command's outcome as lines: stdout is UTF-8 (the shell's code page 65001, and the
    prologue's console output encoding for PowerShell: wire.py), stderr may be CLIXML."""
    return Result(
        rc, split_lines(out.decode("utf-8", "replace")), decode_stderr(err.decode("utf-8", "replace"))
    )


def _first(errors: list[str], fallback: list[str]) -> str:
    lines = [line for line in errors if line.strip()] or [line for line in fallback if line.strip()]
    return " | ".join(lines[:6]) if lines else "no error output"


def _last_json(lines: list[str]) -> dict[str, Any] | None:
    for line in reversed(lines):
        text = line.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None
