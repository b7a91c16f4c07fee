"""WinRSSession pieces that need no server: error mapping, chunk sizing, stream hashing, and a
real refused connection on loopback."""

from __future__ import annotations

import base64
import hashlib
import io
import socket

import pytest
import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)

from winfra.transport import winrs
from winfra.transport.base import AuthenticationFailed, CommandTimeout, TransportError
from winfra.transport.winrs import (
    ENVELOPE_OVERHEAD,
    TransportConfigError,
    WinRSSession,
    send_chunk_size,
    upload_line_size,
)

SECRET = "Top-S3cret!"


def session(endpoint: str = "http://127.0.0.1:1/wsman", **kwargs: object) -> WinRSSession:
    return WinRSSession(endpoint, username="admin", password=SECRET, label="win1", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind", "needle"),
    [
        (
            InvalidCredentialsError("rejected"),
            AuthenticationFailed,
            "rejected the credentials for user 'admin'",
        ),
        (
            WSManFaultError(500, "m", "<x/>", "The shell was not found", wsman_fault_code=2150858843),
            TransportError,
            "0x8033805B",
        ),
        (WinRMTransportError("http", 503, ""), TransportError, "HTTP 503"),
        (requests.exceptions.ReadTimeout("read timed out"), TimeoutError, "timed out"),
        (requests.exceptions.ConnectionError("reset"), TransportError, "reset"),
        (WinRMError("message encryption is set to 'always'"), TransportError, "encryption"),
        (WinRMOperationTimeoutError(), TransportError, "Receive"),
        (StopIteration(), TransportError, "unexpected response"),
    ],
)
def test_library_errors_become_oserror(exc: BaseException, kind: type, needle: str) -> None:
    mapped = session()._map(exc, "Receive")
    assert isinstance(mapped, OSError) and isinstance(mapped, kind)
    assert needle in str(mapped)
    assert "win1" in str(mapped)
    assert SECRET not in str(mapped)


def test_command_timeout_is_a_timeout_error() -> None:
    assert issubclass(CommandTimeout, TimeoutError)
    assert issubclass(AuthenticationFailed, OSError)


def test_invalid_timeouts_are_refused_up_front() -> None:
    with pytest.raises(TransportConfigError, match="read_timeout_sec must exceed"):
        session(read_timeout=20, operation_timeout=20)


def test_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now: connection refused, on both attempts.
    s = session(f"http://127.0.0.1:{port}/wsman", read_timeout=3, operation_timeout=2)
    with pytest.raises(TransportError) as info:
        s.run("Get-Date")
    assert "win1" in str(info.value) and SECRET not in str(info.value)
    s.close()  # must not raise for a dead host


@pytest.mark.parametrize("kb", [150, 500, 1024])
def test_chunks_fit_the_envelope(kb: int) -> None:
    envelope = kb * 1024
    stdin_chunk = send_chunk_size(kb)
    assert len(base64.b64encode(b"x" * stdin_chunk)) <= envelope - ENVELOPE_OVERHEAD
    line = base64.b64encode(b"x" * upload_line_size(kb)) + b"\r\n"
    assert len(line) <= stdin_chunk
    assert upload_line_size(kb) % 3 == 0


def test_hash_stream_seekable_and_not() -> None:
    data = b"abc" * 1000
    stream, digest, size, cleanup = winrs._hash_stream(io.BytesIO(data))
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert stream.read() == data
    cleanup()

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return self._inner.read(n)

        def seekable(self) -> bool:
            return False

        def tell(self) -> int:
            raise OSError("not seekable")

    stream, digest, size, cleanup = winrs._hash_stream(Pipe())  # type: ignore[arg-type]
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert stream.read() == data
    cleanup()


def test_max_envelope_and_connect_timeout_settings() -> None:
    s = session()
    assert s._protocol.response_envelope == winrs.SAFE_RESPONSE_ENVELOPE
    s.set_max_envelope_size_kb(300)
    assert s.max_envelope_kb == 300 and s._protocol.response_envelope == 300 * 1024
    s.set_max_envelope_size_kb(None)
    assert s.max_envelope_kb == 300
    s.set_connect_timeout(2)
    assert s._protocol.transport.read_timeout_sec == (2, 4)
    assert s._operation_timeout() == 2
    s.set_connect_timeout(None)
    assert s._protocol.transport.read_timeout_sec == 30 and s._operation_timeout() == 20


def test_operation_timeout_while_opening_the_shell_is_an_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    # A busy server may answer Create with the OperationTimeout fault; pywinrm raises it as a
    # plain Exception, which would abort the whole pyinfra run if it escaped connect().
    s = session()

    def busy(**_: object) -> str:
        raise WinRMOperationTimeoutError()

    monkeypatch.setattr(s._protocol, "open_shell", busy)
    with pytest.raises(TransportError, match="Create shell"):
        s.open()
    assert s.shell_id is None


def test_only_errors_that_prove_a_command_never_ran_allow_a_retry() -> None:
    s = session()
    # An empty-bodied 500/400 is the HTTP/auth layer refusing a body it cannot decrypt (after
    # a reboot): WinRM never saw the Command.
    assert s._cannot_have_run(WinRMTransportError("http", 500, ""))
    assert s._cannot_have_run(WSManFaultError(500, "m", "<x/>", "gone", wsman_fault_code=2150858843))
    # A proxy's 502/504 may come after the Command was forwarded; a read timeout or a reset
    # connection after sending may also come after it started: never retried.
    assert not s._cannot_have_run(WinRMTransportError("http", 502, ""))
    assert not s._cannot_have_run(WinRMTransportError("http", 504, ""))
    assert not s._cannot_have_run(requests.exceptions.ReadTimeout("read timed out"))
    assert not s._cannot_have_run(requests.exceptions.ConnectionError("reset"))
    assert not s._cannot_have_run(WinRMTransportError("http", 500, "<s:Fault>...</s:Fault>"))
