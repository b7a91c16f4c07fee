"""winfra.runas: the contract the connector uses for _su_user (run as the target user)."""

from __future__ import annotations

import base64
import json

import pytest

from winfra import runas
from winfra.powershell.scripts import load_script, parse_header
from winfra.powershell.syntax import syntax_errors

SECRET = "S3cret-'quote\"-$(x)"


def test_wrapper_is_the_shipped_write_script_and_password_only_on_stdin() -> None:
    script, stdin = runas.run_as_user_command("Get-Date", "dev", SECRET, 30)
    header = parse_header(script)
    assert header is not None and header.name == "run_as_user" and header.mode == "write"
    assert SECRET not in script
    assert stdin == SECRET.encode("utf-8")
    assert '"timeout_seconds":30' in script and '"user":"dev"' in script
    assert syntax_errors(script) == []
    assert load_script("run_as_user").mode == "write"


def test_in_process_travels_in_the_params() -> None:
    assert '"in_process":false' in runas.run_as_user_command("Get-Date", "dev", None, 30)[0]
    assert '"in_process":true' in runas.run_as_user_command("Get-Date", "dev", None, 30, in_process=True)[0]


def test_no_password_means_interactive_logon_and_empty_stdin() -> None:
    script, stdin = runas.run_as_user_command("Get-Date", r".\dev", None, None)
    assert stdin == b""
    assert f'"timeout_seconds":{runas.DEFAULT_TIMEOUT}' in script


@pytest.mark.parametrize(
    "user", ["SYSTEM", "NT AUTHORITY\\SYSTEM", "LocalSystem", "S-1-5-18", "NT AUTHORITY\\NetworkService"]
)
def test_system_and_service_accounts_are_refused(user: str) -> None:
    with pytest.raises(runas.RunAsError, match="refusing"):
        runas.run_as_user_command("wsl.exe -l -v", user, None, 60)


@pytest.mark.parametrize("user", ["", "  ", "a/b", "bad:name", 'x"y'])
def test_bad_user_names(user: str) -> None:
    with pytest.raises(runas.RunAsError):
        runas.run_as_user_command("Get-Date", user, None, 60)


def test_bad_timeout_and_password_with_newline_never_echo_the_password() -> None:
    with pytest.raises(runas.RunAsError, match="timeout"):
        runas.run_as_user_command("Get-Date", "dev", None, 0)
    with pytest.raises(runas.RunAsError, match="line break") as info:
        runas.run_as_user_command("Get-Date", "dev", "abc\ndef-secret", 60)
    assert "def-secret" not in str(info.value)


def test_parse_output_decodes_streams() -> None:
    doc = {
        "user": "WIN\\dev",
        "sid": "S-1-5-21-1",
        "logon": "password",
        "exit_code": 3,
        "stdout": base64.b64encode("\ufeffline 1\r\nünï\r\n".encode()).decode(),
        "stderr": base64.b64encode(b"oops\r\r\n").decode(),
    }
    assert runas.parse_run_as_output(["", json.dumps(doc)]) == (3, ["line 1", "ünï"], ["oops"])


def test_parse_output_without_document_is_an_error() -> None:
    with pytest.raises(runas.RunAsError, match="no result document"):
        runas.parse_run_as_output(["something else", "{not json"])
