"""A simulated Windows process: runs at once in a worker thread, blocks when it reads stdin, and
blocks when its output pipe is full, as a real process under WinRS does.

The worker gets a :class:`ProcessIO`; the endpoint drives the :class:`ThreadProcess` through the
:class:`~winfra.sim.process.SimProcess` protocol (``write_stdin`` per WinRS ``Send``, ``receive``
per ``Receive`` long-poll, ``terminate`` per ``Signal``/``Delete``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from winfra.sim.process import DropConnection, ReceiveChunk

log = logging.getLogger(__name__)

# Anonymous pipe buffers are small; past this much unread output a writer blocks until the client
# receives (bounded memory for a 100 MB get_file).
PIPE_BUFFER = 1 << 20


class ProcessTerminated(Exception):
    """Raised inside the worker when the process was killed (Signal terminate / shell Delete)."""


class ProcessIO:
    """The process side: stdin reads, stdout/stderr writes, and the exit."""

    def __init__(self, owner: ThreadProcess) -> None:
        self._p = owner

    @property
    def terminated(self) -> bool:
        """True once the process was killed (a long-running counterpart may poll this)."""
        return self._p._terminated

    # --- stdin --------------------------------------------------------------------------------
    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all until EOF when negative); b"" at EOF."""
        p = self._p
        with p._cond:
            while True:
                if p._terminated:
                    raise ProcessTerminated()
                if size < 0 and p._stdin_eof:
                    break
                if size >= 0 and (p._stdin_buf or p._stdin_eof):
                    break
                p._cond.wait()
            if size < 0:
                data = bytes(p._stdin_buf)
                p._stdin_buf.clear()
            else:
                data = bytes(p._stdin_buf[:size])
                del p._stdin_buf[:size]
            p._cond.notify_all()
            return data

    def readline(self) -> bytes | None:
        """One line without its CR LF (``[Console]::In.ReadLine()``); None at EOF."""
        p = self._p
        with p._cond:
            while True:
                if p._terminated:
                    raise ProcessTerminated()
                idx = p._stdin_buf.find(b"\n")
                if idx >= 0:
                    line = bytes(p._stdin_buf[:idx])
                    del p._stdin_buf[: idx + 1]
                    p._cond.notify_all()
                    return line[:-1] if line.endswith(b"\r") else line
                if p._stdin_eof:
                    if not p._stdin_buf:
                        return None
                    line = bytes(p._stdin_buf)
                    p._stdin_buf.clear()
                    return line[:-1] if line.endswith(b"\r") else line
                p._cond.wait()

    def lines(self) -> Iterator[bytes]:
        """Blocking iterator over the remaining stdin lines."""
        while True:
            line = self.readline()
            if line is None:
                return
            yield line

    # --- output -------------------------------------------------------------------------------
    def write_stdout(self, data: bytes) -> None:
        self._write(data, stderr=False)

    def write_stderr(self, data: bytes) -> None:
        self._write(data, stderr=True)

    def _write(self, data: bytes, *, stderr: bool) -> None:
        p = self._p
        with p._cond:
            while not p._terminated and len(p._out) + len(p._err) >= PIPE_BUFFER:
                p._cond.wait()
            if p._terminated:
                raise ProcessTerminated()
            (p._err if stderr else p._out).extend(data)
            p._cond.notify_all()

    def finish(self, stdout: bytes, stderr: bytes, exit_code: int) -> None:
        """Write the last output and exit, atomically, so one Receive sees output and exit code."""
        p = self._p
        with p._cond:
            if p._terminated:
                return
            p._out.extend(stdout)
            p._err.extend(stderr)
            p._exit_code = exit_code
            p._done = True
            p._cond.notify_all()


class ThreadProcess:
    """Runs ``target(io) -> exit code`` in a daemon thread (see module docstring)."""

    def __init__(self, target: Callable[[ProcessIO], int | None], *, name: str = "winsim-process") -> None:
        self._cond = threading.Condition()
        self._stdin_buf = bytearray()
        self._stdin_eof = False
        self._out = bytearray()
        self._err = bytearray()
        self._done = False
        self._exit_code: int | None = None
        self._terminated = False
        self._reported_done = False
        self._drop: DropConnection | None = None
        self.io = ProcessIO(self)
        self._target = target
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        code: int | None
        try:
            code = self._target(self.io)
        except ProcessTerminated:
            return
        except DropConnection as exc:
            # Fault injection from inside a running command: the next Receive drops the socket.
            with self._cond:
                self._drop = exc
                self._cond.notify_all()
            return
        except Exception:
            log.exception("winsim: simulated process crashed")
            msg = b"winsim: internal simulator error (see the simulator log)\r\n"
            self.io.finish(b"", msg, 1)
            return
        with self._cond:
            if not self._done and not self._terminated:
                self._exit_code = 0 if code is None else int(code)
                self._done = True
                self._cond.notify_all()

    # --- SimProcess protocol --------------------------------------------------------------------
    def write_stdin(self, data: bytes, end: bool) -> None:
        with self._cond:
            if self._stdin_eof:
                return
            # A full stdin pipe makes the writer (WinRS Send) wait until the process reads.
            self._cond.wait_for(
                lambda: len(self._stdin_buf) < PIPE_BUFFER or self._done or self._terminated, timeout=60
            )
            if self._done or self._terminated:
                return
            self._stdin_buf.extend(data)
            if end:
                self._stdin_eof = True
            self._cond.notify_all()

    def receive(self, timeout: float) -> ReceiveChunk | None:
        with self._cond:
            self._cond.wait_for(
                lambda: self._out or self._err or self._done or self._terminated or self._drop is not None,
                timeout=timeout,
            )
            if self._drop is not None:
                raise self._drop
            if not (self._out or self._err or self._done or self._terminated):
                return None
            chunk = ReceiveChunk(bytes(self._out), bytes(self._err), self._done or self._terminated, None)
            self._out.clear()
            self._err.clear()
            if chunk.done:
                chunk.exit_code = self._exit_code if self._exit_code is not None else 1
            self._cond.notify_all()  # a writer blocked on a full pipe may continue
            return chunk

    def terminate(self) -> None:
        with self._cond:
            if not self._done:
                self._terminated = True
                # TerminateProcess with exit code 1, as WinRS does for a killed command.
                self._exit_code = 1
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


def finished_process(stdout: bytes, stderr: bytes, exit_code: int) -> ThreadProcess:
    """A process that writes ``stdout``/``stderr`` and exits at once."""

    def target(io: ProcessIO) -> None:
        io.finish(stdout, stderr, exit_code)

    return ThreadProcess(target, name="winsim-builtin")
