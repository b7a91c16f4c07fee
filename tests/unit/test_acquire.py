"""winfra.acquire (controller side) and its host counterpart winfra/sim/scripts/acquire_file.py."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api import Config, FileUploadCommand, StringCommand
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from winfra.acquire import AcquireError, acquire, cache_path, check_sha256, parse_source
from winfra.powershell.scripts import parse_header
from winfra.sim.models.host import SimHost, reset
from winfra.sim.scripting import PowerShellError, ScriptCall
from winfra.sim.scripts import acquire_file

SHA = "ab" * 32


def src(value: str, **kw: Any):
    return parse_source(value, host_name="h1", setting="source", **kw)


# -- parse_source / check_sha256 / cache_path --------------------------------------------------


def test_https_url_name_is_decoded() -> None:
    s = src("https://desktop.docker.com/win/main/amd64/175267/Docker%20Desktop%20Installer.exe")
    assert (s.kind, s.file_name) == ("https", "Docker Desktop Installer.exe")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("http://example.com/x.zip", "plain http is refused"),
        ("ftp://example.com/x.zip", "only https URLs, UNC paths and controller-side files"),
        ("https://user:pw@example.com/x.zip", "credentials in the URL"),
        ("https://example.com/", "cannot derive a valid Windows file name"),
        (r"C:\Temp\docker.zip", "looks like a path on the Windows host"),
        (r"\\server\share", "needs \\\\server\\share\\path\\file"),
        ("", "give an https URL"),
        ("/no/such/file.zip", "no such file on the controller"),
    ],
)
def test_bad_sources_name_host_setting_and_fix(value: str, fragment: str) -> None:
    with pytest.raises(AcquireError) as exc:
        src(value)
    assert str(exc.value).startswith("h1: source=")
    assert fragment in str(exc.value)


def test_unc_and_local_sources(tmp_path: Path) -> None:
    s = src("//files/mirror/docker/docker-27.3.1.zip")
    assert (s.kind, s.location, s.file_name) == (
        "unc",
        r"\\files\mirror\docker\docker-27.3.1.zip",
        "docker-27.3.1.zip",
    )
    f = tmp_path / "setup.exe"
    f.write_bytes(b"x")
    s = src(str(f))
    assert (s.kind, s.location, s.file_name) == ("local", str(f.resolve()), "setup.exe")


def test_sha256_required_unless_unverified(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AcquireError, match="has no sha256"):
        check_sha256(None, allow_unverified=False, host_name="h1", setting="source")
    with pytest.raises(AcquireError, match="is not a SHA-256"):
        check_sha256("abc", allow_unverified=False, host_name="h1", setting="source")
    assert check_sha256(SHA.upper(), allow_unverified=False, host_name="h1", setting="source") == SHA
    with caplog.at_level(logging.WARNING, logger="winfra.acquire"):
        assert check_sha256(None, allow_unverified=True, host_name="h1", setting="source") is None
    assert "WITHOUT checksum verification" in caplog.text


def test_cache_paths_are_content_addressed() -> None:
    s = src("https://example.com/a/docker-27.3.1.zip")
    assert cache_path(s, SHA) == rf"C:\ProgramData\winfra\cache\{SHA}\docker-27.3.1.zip"
    unverified = cache_path(s, None)
    assert unverified.startswith("C:\\ProgramData\\winfra\\cache\\unverified\\") and unverified.endswith(
        "\\docker-27.3.1.zip"
    )


# -- the acquire() generator ---------------------------------------------------------------------


class State(FakeState):
    def __init__(self) -> None:
        self.inventory = None
        self.config = Config()


def run_acquire(facts: dict[str, Any], *args: Any, **kwargs: Any) -> tuple[list[Any], str]:
    host = create_host(State(), facts=facts)
    host.name = "h1"
    out: list[Any] = []
    with ctx_state.use(State()), ctx_host.use(host):
        gen = acquire(*args, **kwargs)
        try:
            while True:
                out.append(next(gen))
        except StopIteration as stop:
            return out, stop.value


def script_of(command: Any) -> tuple[str, dict[str, Any]]:
    assert isinstance(command, StringCommand)
    text = command.get_raw_value()
    header = parse_header(text)
    assert header is not None
    return header.name, json.loads(text.rsplit("} -InputJson ", 1)[1][1:-1].replace("''", "'"))


def test_https_source_is_one_host_side_download() -> None:
    commands, path = run_acquire({}, "https://example.com/docker-27.3.1.zip", SHA)
    assert path == rf"C:\ProgramData\winfra\cache\{SHA}\docker-27.3.1.zip"
    assert [script_of(c) for c in commands] == [
        (
            "acquire_file",
            {
                "kind": "https",
                "source": "https://example.com/docker-27.3.1.zip",
                "dest": path,
                "sha256": SHA,
                "allow_unverified": False,
            },
        )
    ]


def test_local_file_is_uploaded_once(tmp_path: Path) -> None:
    f = tmp_path / "docker-27.3.1.zip"
    f.write_bytes(b"zip bytes")
    sha = hashlib.sha256(b"zip bytes").hexdigest()
    dest = rf"C:\ProgramData\winfra\cache\{sha}\docker-27.3.1.zip"
    key = f"path={dest}"

    missing = {"acquire.CachedFile": {key: {"exists": False, "sha256": None}}}
    commands, path = run_acquire(missing, str(f), sha)
    assert path == dest
    assert script_of(commands[0])[1]["kind"] == "prepare"
    assert isinstance(commands[1], FileUploadCommand)
    assert (str(commands[1].src), commands[1].dest) == (str(f.resolve()), dest + ".upload")
    name, params = script_of(commands[2])
    assert (name, params["kind"], params["source"]) == ("acquire_file", "staged", dest + ".upload")

    cached = {"acquire.CachedFile": {key: {"exists": True, "sha256": sha.upper()}}}
    commands, path = run_acquire(cached, str(f), sha)
    assert commands == [] and path == dest

    with pytest.raises(AcquireError, match=r"checksum mismatch .* nothing was uploaded"):
        run_acquire(missing, str(f), SHA)


# -- the host side (simulator counterpart of acquire_file.ps1) ---------------------------------


@pytest.fixture
def sim(tmp_path: Path) -> Any:
    host = SimHost.load("acq", profile="server2022", state_dir=tmp_path / "winsim")
    yield host
    reset(tmp_path / "winsim")


def call(host: Any, **params: Any) -> Any:
    base = {"allow_unverified": False, "sha256": None}
    return acquire_file.run(
        ScriptCall(host=host, params={**base, **params}, user="Administrator", elevated=True)
    )


def test_download_verify_and_reuse(sim: Any) -> None:
    art = sim.add_artifact("https://example.com/tool.exe", b"tool v1")
    sha = art.sha256()
    dest = rf"C:\ProgramData\winfra\cache\{sha}\tool.exe"
    assert call(sim, kind="https", source=art.url, dest=dest, sha256=sha)["action"] == "downloaded"
    sim.docker.network.artifacts.clear()  # the network is gone: the cache must serve it
    assert call(sim, kind="https", source=art.url, dest=dest, sha256=sha.upper())["action"] == "cached"
    assert sim.fs.read_bytes(dest) == b"tool v1"


def test_corrupt_cache_is_fetched_again(sim: Any) -> None:
    art = sim.add_artifact(r"\\files\share\tool.exe", b"tool v1")
    sha = art.sha256()
    dest = rf"C:\ProgramData\winfra\cache\{sha}\tool.exe"
    sim.fs.write_bytes(dest, b"tampered", make_parents=True)
    assert call(sim, kind="unc", source=art.url, dest=dest, sha256=sha)["action"] == "copied"
    assert sim.fs.read_bytes(dest) == b"tool v1"


def test_mismatch_deletes_and_fails(sim: Any) -> None:
    art = sim.add_artifact("https://example.com/tool.exe", b"tool v1")
    dest = rf"C:\ProgramData\winfra\cache\{SHA}\tool.exe"
    with pytest.raises(PowerShellError, match=f"checksum mismatch for {art.url}: expected sha256 {SHA}"):
        call(sim, kind="https", source=art.url, dest=dest, sha256=SHA)
    assert not sim.fs.exists(dest) and not sim.fs.exists(dest + ".partial")


def test_404_missing_share_and_unverified(sim: Any) -> None:
    with pytest.raises(PowerShellError, match=r"\(404\) Not Found"):
        call(sim, kind="https", source="https://example.com/nope.exe", dest=r"C:\c\x.exe", sha256=SHA)
    with pytest.raises(PowerShellError, match="does not exist"):
        call(sim, kind="unc", source=r"\\files\share\nope.exe", dest=r"C:\c\x.exe", sha256=SHA)
    with pytest.raises(PowerShellError, match="allow_unverified is not set"):
        call(sim, kind="https", source="https://example.com/nope.exe", dest=r"C:\c\x.exe")
    art = sim.add_artifact("https://example.com/tool.exe", b"v1")
    dest = r"C:\ProgramData\winfra\cache\unverified\k\tool.exe"
    assert call(sim, kind="https", source=art.url, dest=dest, allow_unverified=True)["action"] == "downloaded"
    # Unverified files are never served from the cache.
    assert call(sim, kind="https", source=art.url, dest=dest, allow_unverified=True)["action"] == "downloaded"


def test_staged_upload_is_verified_and_moved(sim: Any) -> None:
    data = b"uploaded bytes"
    sha = hashlib.sha256(data).hexdigest()
    dest = rf"C:\ProgramData\winfra\cache\{sha}\setup.exe"
    assert call(sim, kind="prepare", source="x", dest=dest, sha256=sha)["action"] == "prepared"
    assert sim.fs.is_dir(dest.rsplit("\\", 1)[0])
    sim.fs.write_bytes(dest + ".upload", data)
    out = call(sim, kind="staged", source=dest + ".upload", dest=dest, sha256=sha)
    assert out == {"path": dest, "sha256": sha, "size": len(data), "action": "uploaded"}
    assert not sim.fs.exists(dest + ".upload")
