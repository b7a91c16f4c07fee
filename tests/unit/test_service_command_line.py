"""The service ImagePath splitter follows the Microsoft C runtime rules (argv[0] is literal)."""

from __future__ import annotations

import pytest

from winfra.facts.docker import service_flags, split_command_line


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        (
            '"C:\\Program Files\\Docker\\dockerd.exe" --run-service -H npipe://',
            ["C:\\Program Files\\Docker\\dockerd.exe", "--run-service", "-H", "npipe://"],
        ),
        # 2n backslashes before a quote: n backslashes, the quote ends the argument.
        (
            'C:\\d\\dockerd.exe --data-root "D:\\docker data\\\\"',
            ["C:\\d\\dockerd.exe", "--data-root", "D:\\docker data\\"],
        ),
        # 2n+1 backslashes before a quote: n backslashes and a literal quote.
        ('C:\\d\\dockerd.exe --label a\\\\\\"b', ["C:\\d\\dockerd.exe", "--label", 'a\\"b']),
        # Backslashes not before a quote are literal; argv[0]'s backslashes always are.
        ('"C:\\Docker\\" --x C:\\a\\b', ["C:\\Docker\\", "--x", "C:\\a\\b"]),
        ("  ", []),
    ],
)
def test_split_command_line(line: str, argv: list[str]) -> None:
    assert split_command_line(line) == argv


def test_a_line_of_arguments_only_applies_the_backslash_rules_to_the_first_too() -> None:
    line = '"D:\\data dir\\\\" --x'
    assert split_command_line(line) == ["D:\\data dir\\\\", "--x"]
    assert split_command_line(line, program_name=False) == ["D:\\data dir\\", "--x"]


def test_service_flags_drop_what_register_service_adds() -> None:
    exe, flags = service_flags(
        '"C:\\Program Files\\Docker\\dockerd.exe" --run-service --service-name docker -G docker-users'
    )
    assert exe == "C:\\Program Files\\Docker\\dockerd.exe"
    assert flags == ["-G", "docker-users"]
