"""The simulated WinRM listener: WS-Management WinRS over HTTP(S), as Windows serves it.

One :class:`WinRMEndpoint` is one Windows host's WinRM service. It implements the WinRS actions
of MS-WSMV 3.1.4 (Create, Command, Send, Receive, Signal, Delete) on the ``windows/shell/cmd``
resource, Basic and NTLM auth with MS-WSMV message encryption (see :mod:`.auth`), the quotas of
anchors-and-winrm.md §3.3 and the faults Windows sends (see :mod:`.soap`). What a command does is
the :class:`~winfra.sim.process.CommandExecutor`'s business: this module knows nothing of
PowerShell.

Hosting follows testing-without-windows.md §h: stdlib ``ThreadingHTTPServer`` with
``protocol_version = "HTTP/1.1"`` (NTLM authenticates the TCP connection, so keep-alive must
work) and a Content-Length on every reply, 401s included. Under gevent monkey-patching the
threads become greenlets; nothing here blocks without yielding (waits are on patched
``threading``/``queue`` primitives and sockets).
"""

from __future__ import annotations

import base64
import inspect
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from winfra.sim.counters import Counters
from winfra.sim.process import CommandExecutor, DropConnection, ShellContext, SimProcess
from winfra.sim.protocol import auth, soap

log = logging.getLogger(__name__)

# Windows' defaults (anchors-and-winrm.md §3.3): MaxEnvelopeSizekb 500, MaxTimeoutms 60000,
# MaxShellsPerUser 30, MaxConcurrentOperationsPerUser 1500.
DEFAULT_MAX_ENVELOPE_KB = 500
MAX_TIMEOUT_S = 60.0
DEFAULT_MAX_SHELLS_PER_USER = 30
DEFAULT_MAX_OPERATIONS_PER_USER = 1500
# Shell IdleTimeout: 7,200,000 ms observed on Server 2016+ (anchors-and-winrm.md §3.3; the pypsrp
# recordings show rsp:IdleTimeOut PT7200.000S). An idle shell is deleted with its processes.
DEFAULT_IDLE_TIMEOUT_S = 7200.0
# Refuse to even read a body this many times larger than MaxEnvelopeSizekb (then drop the socket).
_READ_CAP_FACTOR = 4

_SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


@dataclass
class _Command:
    command_id: str
    process: SimProcess
    pending_out: bytearray = field(default_factory=bytearray)
    pending_err: bytearray = field(default_factory=bytearray)
    done: bool = False
    exit_code: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Shell:
    context: ShellContext
    # MaxConcurrentOperationsPerUser: the shell and every Command count, and a Signal terminate
    # on a text shell does not give an operation back (MS-WSMV <118> to §3.1.4.12, quoted in
    # ansible/ansible#83656; diyan/pywinrm#124). Only deleting the shell does.
    operations: int = 1
    commands: dict[str, _Command] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


def _parameters(func: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


class _Unencrypted(Exception):
    """An unsealed body over HTTP on a service with AllowUnencrypted=false: HTTP 500."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    endpoint: WinRMEndpoint

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        context = self.endpoint._ssl_context
        if context is not None:
            # The handshake happens in the connection's own thread, on first read, so a slow
            # client cannot stall accept().
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("winsim: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def version_string(self) -> str:
        # The header Windows' HTTP.sys listener sends (cloudsoft/winrm4j#144 response headers).
        return "Microsoft-HTTPAPI/2.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("winsim %s: " + format, self.address_string(), *args)

    def setup(self) -> None:
        super().setup()
        try:
            # Headers and body go out in one write (see _reply), and without Nagle's delay: a
            # request/response protocol otherwise waits for the peer's delayed ACK (~40 ms) on
            # every reply.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.auth_state = auth.ConnectionAuth()
        self._final_auth: str | None = None
        self.endpoint = self.server.endpoint
        self.endpoint._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.endpoint._track(self.connection, False)

    def handle(self) -> None:
        if not self.endpoint._available():
            # The host is down (rebooting): the connection is closed without a byte.
            self.close_connection = True
            return
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                return
        super().handle()

    # --- replies ----------------------------------------------------------------------------

    def _reply(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for name, value in headers or []:
            self.send_header(name, value)
        final_auth, self._final_auth = self._final_auth, None
        if final_auth and status != 401:
            self.send_header("WWW-Authenticate", final_auth)
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n")  # end of headers; sent with the body below
        self._headers_buffer.append(body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []
        self.endpoint.counters.add("bytes_out", len(body))

    def _reply_401(self) -> None:
        self.endpoint.counters.add("http_401")
        # Windows offers Negotiate (and Basic when Auth/Basic is enabled) on a 401.
        headers = [("WWW-Authenticate", "Negotiate")]
        if self.endpoint.allow_basic:
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        self._reply(401, b"", headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- the one method -----------------------------------------------------------------------

    def do_POST(self) -> None:
        endpoint = self.endpoint
        endpoint.counters.add("http_requests")
        if not endpoint._available():
            self._drop()
            return
        length = int(self.headers.get("Content-Length") or 0)
        limit = endpoint.max_envelope_kb * 1024
        if length > limit * _READ_CAP_FACTOR + 65536:
            # Far past the quota: answer 413 without reading and close the connection.
            self._reply(413, b"", [("Connection", "close")])
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        endpoint.counters.add("bytes_in", len(body))
        if self.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            self._reply(404)
            return
        try:
            user, encrypted = self._authenticate(body)
        except _Unencrypted:
            log.debug("winsim: refusing an unencrypted body over HTTP (AllowUnencrypted=false)")
            self._reply(500)
            return
        except auth.AuthError:
            self._reply_401()
            return
        if user is None:
            return  # an NTLM challenge was sent
        if not body:
            # pywinrm's setup_encryption authenticates with an empty POST first
            # (testing-without-windows.md §d).
            self._reply(200)
            return
        try:
            plain = auth.decrypt(self.auth_state, body) if encrypted else body
        except auth.EncryptionError:
            log.debug("winsim: refusing a body that is not MS-WSMV encrypted")
            self._reply(500)
            return
        if len(plain) > limit:
            # Over MaxEnvelopeSizekb the service answers HTTP 413 (jborean93 on
            # ansible-collections/ansible.windows#620: "HTTP 413 is content too large ... it's the
            # WinRM service complaining the data it is given is too large"; also #391).
            self._reply(413)
            return
        try:
            status, response = endpoint._dispatch(plain, user, self.client_address[0])
        except DropConnection:
            self._drop()
            return
        headers = [("Content-Type", _SOAP_CONTENT_TYPE)]
        if encrypted:
            response = auth.encrypt(self.auth_state, response)
            headers = [("Content-Type", auth.ENCRYPTED_CONTENT_TYPE)]
        self._reply(status, response, headers)

    def _authenticate(self, body: bytes) -> tuple[str | None, bool]:
        """Return (user, body_is_encrypted); user None means a 401 challenge was sent."""
        endpoint = self.endpoint
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        scheme_l = scheme.lower()
        tls = endpoint.tls
        if scheme_l == "basic":
            if not endpoint.allow_basic:
                raise auth.AuthError("Basic auth is disabled (Auth/Basic=false)")
            if not tls and not endpoint.allow_unencrypted:
                raise auth.AuthError("Basic over HTTP needs AllowUnencrypted")
            username, password = auth.parse_basic(value)
            user = endpoint._users.check_basic(username, password)
            if user is None:
                raise auth.AuthError("wrong user or password")
            return user, False
        if scheme_l in ("negotiate", "ntlm"):
            try:
                token = base64.b64decode(value.strip(), validate=True)
            except ValueError as exc:
                raise auth.AuthError("malformed token") from exc
            step = auth.ntlm_step(self.auth_state, endpoint._users, token)
            if not step.complete:
                endpoint.counters.add("http_401")
                challenge = base64.b64encode(step.token or b"").decode()
                self._reply(401, b"", [("WWW-Authenticate", f"{scheme} {challenge}")])
                return None, False
            if step.token:
                # SPNEGO's final token (mechListMIC) goes on the successful reply, as HTTP.sys does.
                self._final_auth = f"{scheme} {base64.b64encode(step.token).decode()}"
        elif header:
            raise auth.AuthError(f"unsupported scheme {scheme!r}")
        if not self.auth_state.complete:
            raise auth.AuthError("no credentials")
        content_type = self.headers.get("Content-Type", "").lower()
        encrypted = content_type.startswith("multipart/encrypted")
        if body and not encrypted and not tls and not endpoint.allow_unencrypted:
            # Sealed bodies only over HTTP (AllowUnencrypted=false): Windows answers 500.
            raise _Unencrypted()
        return self.auth_state.user, encrypted


class WinRMEndpoint:
    """A simulated Windows WinRM listener on 127.0.0.1.

    ``users`` maps local account names to passwords. ``allow_unencrypted`` mirrors the service's
    ``AllowUnencrypted`` (Basic over HTTP, unsealed NTLM bodies). ``availability`` returning
    False makes every new connection close at once (the host is rebooting).
    """

    def __init__(
        self,
        executor: CommandExecutor,
        users: Mapping[str, str] | Callable[[], Mapping[str, str]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        allow_unencrypted: bool = False,
        allow_basic: bool = True,
        max_envelope_kb: int = DEFAULT_MAX_ENVELOPE_KB,
        max_operations_per_user: int = DEFAULT_MAX_OPERATIONS_PER_USER,
        max_shells_per_user: int = DEFAULT_MAX_SHELLS_PER_USER,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        availability: Callable[[], bool] | None = None,
        authorize: Callable[[str], bool] | None = None,
        counters: Counters | None = None,
        machine_name: str = "WIN-SIM",
    ) -> None:
        if not callable(users) and not users:
            raise ValueError("WinRMEndpoint needs at least one user")
        self.executor = executor
        # WINRS_SKIP_CMD_SHELL reaches executors whose start() accepts skip_cmd_shell=.
        self._executor_takes_skip = "skip_cmd_shell" in _parameters(executor.start)
        self.host = host
        self.port = port
        self.tls = tls
        self.allow_unencrypted = allow_unencrypted
        self.allow_basic = allow_basic
        self.max_envelope_kb = max_envelope_kb
        self.max_operations_per_user = max_operations_per_user
        self.max_shells_per_user = max_shells_per_user
        self.idle_timeout_s = idle_timeout_s
        self.availability = availability
        self.authorize = authorize
        self.counters = counters if counters is not None else Counters()
        self.machine_name = machine_name
        self._users = auth.UserStore(users, machine_name)
        self._shells: dict[str, _Shell] = {}
        self._shells_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        # TCP connections accepted so far (keep-alive tests, benchmarks).
        self.connections_total = 0
        self._conn_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: Path | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self.ca_path: Path | None = None
        # Called by stop() (e.g. to unregister a host's reboot listener).
        self.on_stop: list[Callable[[], None]] = []

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> WinRMEndpoint:
        if self._server is not None:
            return self
        if self.tls:
            from winfra.sim.protocol import tls as tls_mod

            self._tmpdir = Path(tempfile.mkdtemp(prefix="winsim-tls-"))
            files = tls_mod.generate(self._tmpdir, [self.host, "localhost", "127.0.0.1"])
            self._ssl_context = files.server_context()
            self.ca_path = files.ca_path
        server = _Server((self.host, self.port), _Handler)
        server.endpoint = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"winsim-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        callbacks, self.on_stop = self.on_stop, []
        for callback in callbacks:
            callback()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self.drop_all_connections()
        with self._shells_lock:
            shells, self._shells = list(self._shells.values()), {}
        for shell in shells:
            self._terminate_all(shell)
        self._users.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> WinRMEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}/wsman"

    def drop_all_connections(self) -> None:
        """Close every open TCP connection (a reboot, or a network fault)."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def reset_shells(self) -> None:
        """Forget every shell and kill its processes (the WinRM service restarted)."""
        with self._shells_lock:
            shells, self._shells = list(self._shells.values()), {}
        for shell in shells:
            self._terminate_all(shell)

    @property
    def shell_count(self) -> int:
        with self._shells_lock:
            return len(self._shells)

    def _available(self) -> bool:
        return self.availability is None or bool(self.availability())

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
                self.connections_total += 1
            else:
                self._connections.discard(conn)

    # --- WS-Management dispatch ---------------------------------------------------------------

    def _dispatch(self, data: bytes, user: str, client_ip: str) -> tuple[int, bytes]:
        try:
            request = soap.parse_request(data)
        except soap.SoapParseError:
            return 500, soap.fault_invalid_parameter().to_xml("", self.machine_name)
        try:
            if self.authorize is not None and not self.authorize(user):
                # Valid credentials but not admitted by the service's RootSDDL (Administrators,
                # Remote Management Users): HTTP 500, not 401.
                raise soap.fault_access_denied()
            return 200, self._handle(request, user, client_ip)
        except soap.WSManFault as fault:
            return fault.http_status, fault.to_xml(request.message_id, self.machine_name)

    def _handle(self, request: soap.WSManRequest, user: str, client_ip: str) -> bytes:
        action = request.action
        if request.resource_uri.lower() != soap.CMD_RESOURCE_URI:
            raise soap.fault_action_not_supported(action)
        if action == soap.ACTION_CREATE:
            return self._create(request, user, client_ip)
        shell = self._get_shell(request, user)
        if action == soap.ACTION_COMMAND:
            return self._command(request, shell)
        if action == soap.ACTION_SEND:
            return self._send(request, shell)
        if action == soap.ACTION_RECEIVE:
            return self._receive(request, shell)
        if action == soap.ACTION_SIGNAL:
            return self._signal(request, shell)
        if action == soap.ACTION_DELETE:
            return self._delete(request, shell)
        raise soap.fault_action_not_supported(action)

    def _get_shell(self, request: soap.WSManRequest, user: str) -> _Shell:
        shell_id = request.shell_id or ""
        with self._shells_lock:
            shell = self._shells.get(shell_id.upper())
        # A shell belongs to the user who created it.
        if shell is None or shell.context.user.lower() != user.lower():
            raise soap.fault_unknown_shell(shell_id)
        shell.last_used = time.monotonic()
        return shell

    def _reap_idle(self) -> None:
        now = time.monotonic()
        with self._shells_lock:
            idle = [s for s in self._shells.values() if now - s.last_used > self.idle_timeout_s]
            for shell in idle:
                self._shells.pop(shell.context.shell_id, None)
        for shell in idle:
            self._terminate_all(shell)

    def _create(self, request: soap.WSManRequest, user: str, client_ip: str) -> bytes:
        body = request.body
        shell_el = body.find("rsp:Shell", soap.NS) if body is not None else None
        if shell_el is None:
            raise soap.fault_invalid_parameter()
        env = {
            var.get("Name", ""): var.text or ""
            for var in shell_el.findall("rsp:Environment/rsp:Variable", soap.NS)
        }
        wd_el = shell_el.find("rsp:WorkingDirectory", soap.NS)
        working_directory = (wd_el.text or "").strip() or None if wd_el is not None else None
        options = {k.upper(): v for k, v in request.options.items()}
        codepage = 437  # the OEM code page of an en-US host, WinRS's default
        if options.get("WINRS_CODEPAGE", "").strip().isdigit():
            codepage = int(options["WINRS_CODEPAGE"].strip())
        no_profile = options.get("WINRS_NOPROFILE", "").strip().lower() == "true"
        self._reap_idle()
        with self._shells_lock:
            owned = sum(1 for s in self._shells.values() if s.context.user.lower() == user.lower())
            if owned >= self.max_shells_per_user:
                raise soap.fault_max_shells(self.max_shells_per_user)
            shell_id = soap.new_guid()
            context = ShellContext(
                shell_id=shell_id,
                user=user,
                env=env,
                working_directory=working_directory,
                codepage=codepage,
                no_profile=no_profile,
            )
            self._shells[shell_id] = _Shell(context)
        self.counters.add("shells_created")
        return soap.create_response(
            request.message_id,
            address=self.url,
            shell_id=shell_id,
            owner=user,
            client_ip=client_ip,
            env=env,
            working_directory=working_directory,
        )

    def _command(self, request: soap.WSManRequest, shell: _Shell) -> bytes:
        body = request.body
        line = body.find("rsp:CommandLine", soap.NS) if body is not None else None
        if line is None:
            raise soap.fault_invalid_parameter()
        command = (line.findtext("rsp:Command", default="", namespaces=soap.NS) or "").strip()
        arguments = [arg.text or "" for arg in line.findall("rsp:Arguments", soap.NS)]
        with shell.lock:
            if shell.operations >= self.max_operations_per_user:
                raise soap.fault_max_operations(self.max_operations_per_user)
            shell.operations += 1
        self.counters.add("commands")
        options = {k.upper(): v.strip().lower() for k, v in request.options.items()}
        skip_cmd_shell = options.get("WINRS_SKIP_CMD_SHELL") == "true"
        # DropConnection from the executor propagates: the connection closes without a reply.
        try:
            if skip_cmd_shell and self._executor_takes_skip:
                process = self.executor.start(shell.context, command, arguments, skip_cmd_shell=True)  # type: ignore[call-arg]
            else:
                process = self.executor.start(shell.context, command, arguments)
        except FileNotFoundError:
            raise soap.fault_file_not_found() from None
        command_id = soap.new_guid()
        with shell.lock:
            shell.commands[command_id] = _Command(command_id, process)
        return soap.command_response(request.message_id, command_id)

    def _get_command(self, shell: _Shell, command_id: str | None) -> _Command:
        with shell.lock:
            cmd = shell.commands.get((command_id or "").upper())
        if cmd is None:
            raise soap.fault_unknown_command()
        return cmd

    def _send(self, request: soap.WSManRequest, shell: _Shell) -> bytes:
        body = request.body
        streams = body.findall("rsp:Send/rsp:Stream", soap.NS) if body is not None else []
        if not streams:
            raise soap.fault_invalid_parameter()
        for stream in streams:
            cmd = self._get_command(shell, stream.get("CommandId"))
            try:
                data = base64.b64decode(stream.text or "")
            except ValueError as exc:
                raise soap.fault_invalid_parameter() from exc
            end = (stream.get("End") or "").lower() == "true"
            cmd.process.write_stdin(data, end)
        return soap.send_response(request.message_id)

    def _receive(self, request: soap.WSManRequest, shell: _Shell) -> bytes:
        body = request.body
        desired = body.find("rsp:Receive/rsp:DesiredStream", soap.NS) if body is not None else None
        if desired is None:
            raise soap.fault_invalid_parameter()
        cmd = self._get_command(shell, desired.get("CommandId"))
        timeout = min(request.operation_timeout or MAX_TIMEOUT_S, MAX_TIMEOUT_S)
        # The response must fit the client's MaxEnvelopeSize header (pywinrm sends 153600).
        max_env = request.max_envelope_size or 153600
        budget = max(1024, (max_env - soap.RECEIVE_OVERHEAD) * 3 // 4)
        with cmd.lock:
            if not cmd.pending_out and not cmd.pending_err and not cmd.done:
                chunk = cmd.process.receive(timeout)
                if chunk is None:
                    raise soap.fault_operation_timeout()
                self._absorb(cmd, chunk)
            out = bytes(cmd.pending_out[:budget])
            del cmd.pending_out[: len(out)]
            err = bytes(cmd.pending_err[: budget - len(out)])
            del cmd.pending_err[: len(err)]
            finished = cmd.done and not cmd.pending_out and not cmd.pending_err
            return soap.receive_response(
                request.message_id, cmd.command_id, out, err, done=finished, exit_code=cmd.exit_code
            )

    @staticmethod
    def _absorb(cmd: _Command, chunk: Any) -> None:
        cmd.pending_out += chunk.stdout
        cmd.pending_err += chunk.stderr
        if chunk.done:
            cmd.done = True
            cmd.exit_code = chunk.exit_code if chunk.exit_code is not None else 0

    def _signal(self, request: soap.WSManRequest, shell: _Shell) -> bytes:
        body = request.body
        signal_el = body.find("rsp:Signal", soap.NS) if body is not None else None
        if signal_el is None:
            raise soap.fault_invalid_parameter()
        command_id = (signal_el.get("CommandId") or "").upper()
        code = (signal_el.findtext("rsp:Code", default="", namespaces=soap.NS) or "").strip().lower()
        cmd = self._get_command(shell, command_id)
        if code == soap.SIGNAL_TERMINATE:
            cmd.process.terminate()
            with shell.lock:
                shell.commands.pop(command_id, None)
        elif code in (soap.SIGNAL_CTRL_C, soap.SIGNAL_CTRL_BREAK):
            # Ctrl+C ends a running process; after it finished it changes nothing (pypsrp sends
            # ctrl_c after Done in every recording, and Windows answers SignalResponse). No lock:
            # a Receive may be long-polling this command right now and must wake up.
            cmd.process.terminate()
        else:
            raise soap.fault_invalid_parameter()
        return soap.signal_response(request.message_id)

    def _delete(self, request: soap.WSManRequest, shell: _Shell) -> bytes:
        with self._shells_lock:
            self._shells.pop(shell.context.shell_id, None)
        self._terminate_all(shell)
        return soap.delete_response(request.message_id)

    @staticmethod
    def _terminate_all(shell: _Shell) -> None:
        with shell.lock:
            commands, shell.commands = list(shell.commands.values()), {}
        for cmd in commands:
            try:
                cmd.process.terminate()
            except Exception:  # a process that fails to die must not keep the shell alive
                log.debug("winsim: terminate failed", exc_info=True)
