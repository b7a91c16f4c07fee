"""put_file/get_file of the @winrm connector against the simulator (real HTTP + NTLM encryption):
one powershell.exe per file, SHA-256 checked on both ends, atomic replace, bounded memory."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from _winrm_harness import SimTarget, connected

from winfra.connectors.winrm import COUNTERS_KEY
from winfra.powershell.scripts import render_script

DEST_DIR = "C:\\Users\\Administrator\\Documents"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[SimTarget]:
    t = SimTarget(tmp_path, name="h1-files")
    yield t
    t.close()


def leftovers(target: SimTarget, directory: str = DEST_DIR) -> list[str]:
    return [name for name in target.sim.fs.listdir(directory) if name.endswith(".tmp")]


def test_round_trip_with_hash_check(target: SimTarget, tmp_path: Path) -> None:
    data = os.urandom(700_000) + "ünïcode tail".encode()
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    remote = DEST_DIR + "\\payload.bin"
    with connected(target) as host:
        launches = host.connector_data[COUNTERS_KEY].snapshot()["powershell_launches"]
        assert host.put_file(str(src), remote)
        assert target.sim.fs.read_bytes(remote) == data
        out = tmp_path / "back.bin"
        assert host.get_file(remote, str(out))
        assert out.read_bytes() == data
        assert not list(tmp_path.glob("*.winfra-partial"))
        snap = host.connector_data[COUNTERS_KEY].snapshot()
        assert snap["powershell_launches"] - launches == 2  # one per file, whatever its size
        assert snap["files_put"] == 1 and snap["files_got"] == 1
    assert leftovers(target) == []


def test_io_objects_empty_files_and_replace(target: SimTarget) -> None:
    remote = DEST_DIR + "\\daemon.json"
    with connected(target) as host:
        assert host.put_file(io.StringIO('{"a": "ä"}'), remote)
        assert target.sim.fs.read_bytes(remote) == '{"a": "ä"}'.encode()
        assert host.put_file(io.BytesIO(b"second version"), remote)  # replaces
        assert target.sim.fs.read_bytes(remote) == b"second version"
        assert host.put_file(io.BytesIO(b""), DEST_DIR + "\\empty.txt")
        assert target.sim.fs.read_bytes(DEST_DIR + "\\empty.txt") == b""
        sink = io.BytesIO()
        assert host.get_file(DEST_DIR + "\\empty.txt", sink)
        assert sink.getvalue() == b""
    assert leftovers(target) == []


def test_upload_clears_the_fact_cache(target: SimTarget) -> None:
    with connected(target) as host:
        read = render_script("get_host_state", {})
        host.run_shell_command(read)  # cached by connect()
        assert host.put_file(io.BytesIO(b"x"), DEST_DIR + "\\x.txt")
        host.run_shell_command(read)
        assert target.sim.counters.snapshot()["scripts"]["get_host_state"] == 2


def test_missing_directory_and_missing_file_fail_clearly(
    target: SimTarget, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with connected(target) as host:
        assert not host.put_file(io.BytesIO(b"data"), "C:\\No\\Such\\Dir\\f.txt")
        assert "the directory 'C:\\No\\Such\\Dir' does not exist" in caplog.text
        out = tmp_path / "missing.bin"
        assert not host.get_file("C:\\nope.bin", str(out))
        assert "Could not find file 'C:\\nope.bin'" in caplog.text
        assert not out.exists() and not list(tmp_path.glob("*.winfra-partial"))
        ok, _ = host.run_shell_command("echo still fine", _shell_executable="cmd")
        assert ok


def test_corrupted_upload_is_detected(target: SimTarget, caplog: pytest.LogCaptureFixture) -> None:
    remote = DEST_DIR + "\\config.json"
    target.sim.fs.write_bytes(remote, b"old content")
    data = os.urandom(400_000)

    def flip_one_byte(lines: Iterator[bytes]) -> Iterator[bytes]:
        # A transport fault after the local hash was taken: one data byte changes in flight.
        for index, line in enumerate(lines):
            if index == 0:
                raw = bytearray(base64.b64decode(line))
                raw[100] ^= 0xFF
                line = base64.b64encode(bytes(raw)) + b"\r\n"
            yield line

    with connected(target) as host:
        host.connector._session._tamper_upload = flip_one_byte
        assert not host.put_file(io.BytesIO(data), remote)
    assert "SHA-256 mismatch" in caplog.text
    assert target.sim.fs.read_bytes(remote) == b"old content"  # the destination was not touched
    assert leftovers(target) == []


def test_corrupted_download_is_detected(
    target: SimTarget, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    remote = DEST_DIR + "\\big.bin"
    target.sim.fs.write_bytes(remote, os.urandom(300_000))
    state = {"done": False}

    def corrupt_once(data: bytes) -> bytes:
        # Swap one base64 character of the first data chunk for another valid one.
        if state["done"] or len(data) < 200:
            return data
        state["done"] = True
        buf = bytearray(data)
        buf[50] = ord("A") if buf[50] != ord("A") else ord("B")
        return bytes(buf)

    out = tmp_path / "big.bin"
    with connected(target) as host:
        host.connector._session._tamper_download = corrupt_once
        assert not host.get_file(remote, str(out))
    assert state["done"]
    assert "SHA-256 mismatch" in caplog.text
    assert not out.exists() and not Path(str(out) + ".winfra-partial").exists()


def _write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            # Vary each MiB cheaply so the content is not one repeated block.
            chunk = written.to_bytes(8, "little") + block[8 : min(1 << 20, size - written)]
            fh.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_100mb_round_trip_with_bounded_memory(
    target: SimTarget, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    size = 100 * 1024 * 1024
    src = tmp_path / "100mb.bin"
    expected = _write_random_file(src, size)
    remote = DEST_DIR + "\\100mb.bin"
    out = tmp_path / "100mb.back"
    with connected(target) as host:
        tracemalloc.start()
        try:
            assert host.put_file(str(src), remote)
            _, upload_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            assert host.get_file(remote, str(out))
            _, download_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Client and simulator share this process, so the peaks cover both ends of the transfer.
    print(
        f"peak traced memory: upload {upload_peak / 2**20:.1f} MiB, download {download_peak / 2**20:.1f} MiB"
    )
    assert upload_peak < 24 * 1024 * 1024, upload_peak
    assert download_peak < 24 * 1024 * 1024, download_peak
    assert target.sim.fs.size(remote) == size
    assert target.sim.fs.sha256(remote) == expected
    assert _sha256_file(out) == expected


def test_upload_onto_a_directory_fails_cleanly(target: SimTarget, caplog: pytest.LogCaptureFixture) -> None:
    with connected(target) as host:
        assert not host.put_file(io.BytesIO(b"data"), DEST_DIR)
    assert "Cannot create a file when that file already exists." in caplog.text
    assert leftovers(target, "C:\\Users\\Administrator") == []


def test_disk_full_fails_the_upload(target: SimTarget, caplog: pytest.LogCaptureFixture) -> None:
    target.sim.set_faults([{"disk_full": "C:"}])
    with connected(target) as host:
        assert not host.put_file(io.BytesIO(os.urandom(200_000)), DEST_DIR + "\\blob.bin")
    assert "There is not enough space on the disk." in caplog.text
    assert not target.sim.fs.exists(DEST_DIR + "\\blob.bin")
    assert leftovers(target) == []
    assert target.sim.faults.unfired() == []
