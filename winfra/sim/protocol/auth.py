"""Authentication and MS-WSMV message encryption for the simulated WinRM listener.

* Basic: ``Authorization: Basic base64(user:password)`` on every request. Windows refuses Basic
  over plain HTTP unless the service has ``AllowUnencrypted=true``; the client then sees 401
  (anchors-and-winrm.md §3.5; hashicorp/packer#6205, jborean93: "Unless the Windows host is
  configured to allow un-encrypted messages then it will constantly send a 401 error").
* NTLM (``Negotiate`` or ``NTLM`` scheme, raw NTLM tokens) through pyspnego's acceptor
  (testing-without-windows.md §d). The security context belongs to the TCP connection. Over
  HTTP every body after authentication must be sealed with the MS-WSMV 2.2.9.1.1 framing; an
  unencrypted body gets HTTP 500 as on a host with ``AllowUnencrypted=false``
  (diyan/pywinrm#129: "raise error 500 and event log show message that server receive
  unencrypted message"; diyan/pywinrm#208).

pyspnego's NTLM acceptor reads its credentials from the file named by the ``NTLM_USER_FILE``
environment variable at the moment it checks the AUTHENTICATE message. Each endpoint has its own
users file, so the accept step runs under one process-wide lock with the variable pointed at
this endpoint's file (and restored afterwards).
"""

from __future__ import annotations

import base64
import hmac
import os
import re
import struct
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import spnego
import spnego.exceptions

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_ENCRYPTED_RE = re.compile(
    rb"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
    rb"\tOriginalContent: type=application/soap\+xml;charset=UTF-8;Length=(\d+)\r\n"
    rb"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n(.*)--Encrypted Boundary--\r\n$",
    re.S,
)

_ENV_LOCK = threading.Lock()


class AuthError(Exception):
    """Authentication failed: answer 401."""


class EncryptionError(Exception):
    """A body that must be encrypted was not, or did not decrypt: answer 500."""


def _plain_user(name: str) -> str:
    """``HOST\\user``, ``.\\user`` and ``user@host`` all name the local account ``user``."""
    if "\\" in name:
        name = name.rsplit("\\", 1)[1]
    elif "@" in name:
        name = name.split("@", 1)[0]
    return name


class NTHash(str):
    """A mapping value that is already the account's NT hash (hex, NTOWFv1) rather than its
    password: the host model keeps only the hash on disk (like the SAM)."""


def _nt_hash_hex(password: str) -> str:
    from spnego._ntlm_raw.crypto import ntowfv1

    return ntowfv1(password).hex().upper()


class UserStore:
    """The local accounts the endpoint accepts, and the NTLM_USER_FILE made from them.

    ``users`` is a mapping of account name to password (or :class:`NTHash`), or a callable
    returning one (the host model's accounts change while it runs: a script may add a user or set
    a password); the file is rewritten when it changes. The file holds NT hashes in pyspnego's
    smbpasswd line format, never a password (it is a temp file, but still on disk).
    """

    def __init__(self, users: Mapping[str, str] | Callable[[], Mapping[str, str]], machine: str) -> None:
        self._source = users
        self._machine = machine
        self._lock = threading.Lock()
        self._snapshot: dict[str, str] | None = None
        self._users: dict[str, tuple[str, str]] = {}
        fd, self.ntlm_file = tempfile.mkstemp(prefix="winsim-ntlm-", suffix=".txt")
        os.close(fd)
        self.refresh()

    def refresh(self) -> None:
        current = dict(self._source() if callable(self._source) else self._source)
        with self._lock:
            if current == self._snapshot:
                return
            lines = []
            users: dict[str, tuple[str, str]] = {}
            for name, secret in current.items():
                if ":" in name or "\n" in name or "\\" in name:
                    raise ValueError(
                        f"user {name!r}: ':', '\\' and newlines cannot be stored for the NTLM acceptor"
                    )
                hashed = str(secret) if isinstance(secret, NTHash) else _nt_hash_hex(secret)
                users[name.lower()] = (name, hashed)
                # smbpasswd format USER:UID:LM:NT:FLAGS:LCT (pyspnego _ntlm.py _get_credential); no
                # LM hash (Windows stores none since Vista: NoLMHash). A client that sends no domain
                # needs an empty-domain entry (testing-without-windows.md §d gotcha); local accounts
                # are also addressed as ".\\user" or "MACHINE\\user".
                for domain in ("", ".", self._machine.upper()):
                    who = f"{domain}\\{name}" if domain else name
                    lines.append(f"{who}:0:{'0' * 32}:{hashed}:[U]:LCT-00000000")
            fd, tmp = tempfile.mkstemp(prefix="winsim-ntlm-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            os.replace(tmp, self.ntlm_file)
            self._users = users
            self._snapshot = current

    def check_basic(self, username: str, password: str) -> str | None:
        self.refresh()
        entry = self._users.get(_plain_user(username).lower())
        if entry is None or not hmac.compare_digest(entry[1], _nt_hash_hex(password)):
            return None
        return entry[0]

    def canonical(self, name: str) -> str:
        entry = self._users.get(_plain_user(name).lower())
        return entry[0] if entry else _plain_user(name)

    def close(self) -> None:
        for path in (self.ntlm_file,):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


@dataclass
class ConnectionAuth:
    """Per-TCP-connection state: the NTLM context and who it authenticated."""

    ctx: object | None = None
    user: str | None = None

    @property
    def complete(self) -> bool:
        return self.ctx is not None and self.user is not None


@dataclass
class StepResult:
    """One step of the NTLM/Negotiate exchange: the token to send back, and whether the client
    is now authenticated (then the token, if any, goes on the successful reply)."""

    token: bytes | None
    complete: bool


def ntlm_step(state: ConnectionAuth, store: UserStore, token: bytes) -> StepResult:
    """Feed one token of the ``Negotiate``/``NTLM`` exchange.

    pyspnego's ``negotiate`` acceptor takes both raw NTLM tokens (pywinrm, requests_ntlm, testinfra)
    and SPNEGO-wrapped ones (pypsrp's default ``auth="negotiate"``); without Kerberos it settles on
    NTLM. Raises AuthError for a malformed token or wrong credentials.
    """
    store.refresh()
    with _ENV_LOCK:
        previous = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = store.ntlm_file
        try:
            if state.ctx is None or state.user is not None:
                # A new NEGOTIATE on an authenticated connection starts over (requests_ntlm does
                # this when a server answers 401 again).
                state.ctx = spnego.server(protocol="negotiate")
                state.user = None
            ctx = state.ctx
            out = ctx.step(token)  # type: ignore[attr-defined]
        except Exception as exc:  # SpnegoError, or a parser error on a garbled token
            state.ctx = None
            raise AuthError("NTLM authentication failed") from exc
        finally:
            if previous is None:
                os.environ.pop("NTLM_USER_FILE", None)
            else:
                os.environ["NTLM_USER_FILE"] = previous
    if ctx.complete:  # type: ignore[attr-defined]
        state.user = store.canonical(ctx.client_principal or "")  # type: ignore[attr-defined]
        return StepResult(out or None, True)
    return StepResult(out, False)


def decrypt(state: ConnectionAuth, body: bytes) -> bytes:
    """Unseal an MS-WSMV 2.2.9.1.1 ``multipart/encrypted`` body."""
    match = _ENCRYPTED_RE.match(body)
    if match is None or state.ctx is None:
        raise EncryptionError("body is not a multipart/encrypted MS-WSMV message")
    blob = match.group(2)
    if len(blob) < 4:
        raise EncryptionError("encrypted part too short")
    sig_len = struct.unpack("<i", blob[:4])[0]
    try:
        plain = state.ctx.unwrap_winrm(blob[4 : 4 + sig_len], blob[4 + sig_len :])  # type: ignore[attr-defined]
    except spnego.exceptions.SpnegoError as exc:
        raise EncryptionError("message signature check failed") from exc
    if len(plain) != int(match.group(1)):
        raise EncryptionError("decrypted length does not match OriginalContent Length")
    return plain


def encrypt(state: ConnectionAuth, plain: bytes) -> bytes:
    """Seal a response with the same framing (pywinrm ``encryption.py`` parses exactly this)."""
    wrapped = state.ctx.wrap_winrm(plain)  # type: ignore[union-attr]
    return (
        _BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(plain)).encode()
        + b"\r\n"
        + _BOUNDARY
        + b"\r\n\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<i", len(wrapped.header))
        + wrapped.header
        + wrapped.data
        + _BOUNDARY
        + b"--\r\n"
    )


def parse_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthError("malformed Basic credentials") from exc
    user, sep, password = decoded.partition(":")
    if not sep:
        raise AuthError("malformed Basic credentials")
    return user, password
