"""wsl.exe output parsers on the real captures in tests/data/wsl (sources in SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from winfra import wsl_output
from winfra.wsl_output import ListedDistro, WslOutputError

DATA = Path(__file__).resolve().parent.parent / "data" / "wsl"


def capture(name: str) -> bytes:
    return (DATA / name).read_bytes()


F1_ROWS = [
    ListedDistro("Ubuntu", "Running", 2, True),
    ListedDistro("docker-desktop-data", "Running", 2, False),
    ListedDistro("Ubuntu-22.04", "Stopped", 2, False),
    ListedDistro("NixOS", "Stopped", 2, False),
    ListedDistro("docker-desktop", "Running", 2, False),
]


def test_capture_files_are_what_they_claim() -> None:
    raw = capture("list_verbose_en.utf16le.txt")
    assert raw[1] == 0 and not raw.startswith(b"\xff\xfe")
    assert b"\r\x00\r\x00\n\x00" in capture("list_verbose_en_crcrlf.utf16le.txt")
    assert b"\x00" not in capture("list_verbose_en.utf8.txt")


def test_decode_raw_utf16_without_bom() -> None:
    text = wsl_output.decode_output(capture("list_verbose_en.utf16le.txt"))
    assert "\x00" not in text
    assert text.startswith("  NAME")


def test_decode_utf16_even_when_utf8_was_asked_for() -> None:
    # Inbox wsl.exe ignores WSL_UTF8 (A.4): the same decoder must handle both encodings.
    assert wsl_output.output_lines(capture("list_verbose_en.utf16le.txt")) == wsl_output.output_lines(
        capture("list_verbose_en.utf8.txt")
    )


def test_decode_utf16_with_bom_and_text_with_stray_nuls() -> None:
    assert wsl_output.decode_output(b"\xff\xfe" + "Ubuntu\r\n".encode("utf-16-le")) == "Ubuntu\r\n"
    # UTF-16 bytes already decoded as an 8-bit code page upstream keep their NULs.
    assert wsl_output.output_lines("U\x00b\x00u\x00\r\x00\n\x00") == ["Ubu"]


@pytest.mark.parametrize(
    "name", ["list_verbose_en.utf16le.txt", "list_verbose_en_crcrlf.utf16le.txt", "list_verbose_en.utf8.txt"]
)
def test_list_verbose_f1(name: str) -> None:
    assert wsl_output.parse_list_verbose(capture(name)) == F1_ROWS
    assert wsl_output.default_from_list(F1_ROWS) == "Ubuntu"


def test_cr_cr_lf_leaves_no_carriage_returns_or_blank_lines() -> None:
    lines = wsl_output.output_lines(capture("list_verbose_en_crcrlf.utf16le.txt"))
    assert len(lines) == 6
    assert all("\r" not in line and line == line.rstrip() for line in lines)


def test_list_verbose_2_4_4_has_no_default_marker() -> None:
    rows = wsl_output.parse_list_verbose(capture("list_verbose_2.4.4_no_default.utf16le.txt"))
    assert [r.name for r in rows] == ["MyPengwin", "WLinux", "docker-desktop", "docker-desktop-data"]
    assert [r.state for r in rows] == ["Running", "Running", "Stopped", "Stopped"]
    assert wsl_output.default_from_list(rows) is None


def test_no_installed_distributions_is_an_empty_list_not_an_error() -> None:
    raw = capture("no_distributions.utf16le.txt")
    assert (
        wsl_output.error_code(raw)
        == "Wsl/Service/CreateInstance/GetDefaultDistro/WSL_E_DEFAULT_DISTRO_NOT_FOUND"
    )
    assert wsl_output.parse_list_verbose(raw) == []
    assert wsl_output.parse_list_quiet(raw) == []


def test_list_verbose_other_error_raises() -> None:
    with pytest.raises(WslOutputError, match="WSL_E_DISTRO_NOT_FOUND"):
        wsl_output.parse_list_verbose(capture("distro_not_found.utf16le.txt"))


def test_localized_list_is_refused_by_the_verbose_parser() -> None:
    with pytest.raises(WslOutputError, match="header"):
        wsl_output.parse_list_verbose(capture("list_pt_br_localized.utf16le.txt"))


def test_list_quiet_refuses_localized_plain_list() -> None:
    # `wsl -l` (without -q) marks the default as "Ubuntu (Padrão)": not a name list.
    with pytest.raises(WslOutputError):
        wsl_output.parse_list_quiet(capture("list_pt_br_localized.utf16le.txt"))


def test_list_quiet_names_in_order() -> None:
    # No verbatim -q capture exists (F.2); the byte form follows the code: names only, UTF-16LE, CR CR LF.
    raw = "Ubuntu\r\r\ndocker-desktop\r\r\n".encode("utf-16-le")
    assert wsl_output.parse_list_quiet(raw) == ["Ubuntu", "docker-desktop"]
    assert wsl_output.parse_list_quiet(b"") == []


@pytest.mark.parametrize(
    ("name", "code", "short"),
    [
        (
            "move_not_stopped.utf16le.txt",
            "Wsl/Service/MoveDistro/WSL_E_DISTRO_NOT_STOPPED",
            "WSL_E_DISTRO_NOT_STOPPED",
        ),
        ("move_access_denied.utf16le.txt", "Wsl/Service/MoveDistro/E_ACCESSDENIED", "E_ACCESSDENIED"),
        ("distro_not_found.utf16le.txt", "Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "WSL_E_DISTRO_NOT_FOUND"),
    ],
)
def test_error_codes(name: str, code: str, short: str) -> None:
    assert wsl_output.error_code(capture(name)) == code
    assert wsl_output.error_name(wsl_output.error_code(capture(name))) == short


def test_no_error_code_in_successful_output() -> None:
    assert wsl_output.error_code(capture("list_verbose_en.utf16le.txt")) is None
    assert wsl_output.error_name(None) is None


@pytest.mark.parametrize(
    ("name", "wsl", "kernel", "windows"),
    [
        ("version_en.utf16le.txt", "1.2.5.0", "5.15.90.1", "10.0.19045.3393"),
        ("version_es.utf8.txt", "2.0.5.0", "5.15.133.1-1", "10.0.25951.1000"),
        ("version_de.utf16le.txt", "1.0.3.0", "5.15.79.1", "10.0.22621.819"),
    ],
)
def test_version_by_line_position_in_three_locales(name: str, wsl: str, kernel: str, windows: str) -> None:
    info = wsl_output.parse_version(capture(name))
    assert info is not None
    assert (info.wsl, info.kernel, info.windows) == (wsl, kernel, windows)
    assert info.dxcore and info.dxcore.startswith("10.0.2")


def test_version_inbox_wsl_rejects_the_option() -> None:
    assert wsl_output.parse_version(capture("version_inbox_invalid_option.utf16le.txt")) is None


def test_version_full_width_colon() -> None:
    text = "WSL \u7248\u672c\uff1a 2.3.26.0\r\n\u5185\u6838\u7248\u672c\uff1a 5.15.167.4-1\r\n"
    info = wsl_output.parse_version(text.encode("utf-16-le"))
    assert info is not None and info.wsl == "2.3.26.0" and info.kernel == "5.15.167.4-1"


def test_manage_move_feature_detection() -> None:
    new_help = "    --manage <Distro> <Options...>\r\n        --move <Location>\r\n".encode("utf-16-le")
    old_help = "    --export <Distro> <FileName>\r\n    --import-in-place <Distro> <FileName>\r\n"
    assert wsl_output.supports_manage_move(new_help)
    assert not wsl_output.supports_manage_move(old_help)
    assert not wsl_output.supports_manage_move(capture("version_inbox_invalid_option.utf16le.txt"))
