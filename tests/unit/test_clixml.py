"""CLIXML stderr decoding (winfra.transport.clixml; anchors-and-winrm.md §3.4)."""

from __future__ import annotations

from winfra.transport.clixml import decode_escapes, decode_stderr, split_lines

NS = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"'

PROGRESS = (
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
    '<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for '
    "first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR>"
    "</MS></Obj>"
)


def _objs(*inner: str) -> str:
    return f'<Objs Version="1.1.0.1" {NS}>{"".join(inner)}</Objs>'


def test_plain_stderr_is_split_into_lines() -> None:
    assert decode_stderr("one\r\ntwo\r\n") == ["one", "two"]
    assert decode_stderr("") == []


def test_error_records_become_lines_and_progress_is_dropped() -> None:
    text = "#< CLIXML\r\n" + _objs(
        PROGRESS,
        '<S S="Error">Write-Error : boom_x000D__x000A_</S>',
        '<S S="Error">    + CategoryInfo          : NotSpecified: (:) [Write-Error], '
        "WriteErrorException_x000D__x000A_</S>",
        '<S S="Error">_x000D__x000A_</S>',
    )
    assert decode_stderr(text) == [
        "Write-Error : boom",
        "    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException",
    ]


def test_only_error_stream_is_kept() -> None:
    text = "#< CLIXML\r\n" + _objs(
        '<S S="Warning">careful_x000D__x000A_</S>',
        '<S S="Verbose">chatty_x000D__x000A_</S>',
        '<S S="Error">real problem_x000D__x000A_</S>',
    )
    assert decode_stderr(text) == ["real problem"]


def test_several_objs_blocks() -> None:
    # A nested powershell writes its own CLIXML document (ansible/ansible#69550).
    text = (
        "#< CLIXML\r\n"
        + _objs('<S S="Error">first_x000D__x000A_</S>')
        + "#< CLIXML\r\n"
        + _objs(PROGRESS, '<S S="Error">second_x000D__x000A_</S>')
    )
    assert decode_stderr(text) == ["first", "second"]


def test_plain_text_around_clixml_is_kept() -> None:
    text = "native tool said this\r\n#< CLIXML\r\n" + _objs('<S S="Error">ps error_x000D__x000A_</S>')
    assert decode_stderr(text) == ["native tool said this", "ps error"]


def test_escapes_including_surrogate_pairs() -> None:
    assert decode_escapes("a_x0009_b") == "a\tb"
    assert decode_escapes("_x005F_x0041_") == "_x0041_"  # an escaped underscore stops decoding there
    assert decode_escapes("smile _xD83D__xDE00_!") == "smile \U0001f600!"
    assert decode_escapes("lone _xD83D_ surrogate") == "lone \ufffd surrogate"
    text = "#< CLIXML\r\n" + _objs('<S S="Error">caf_x00E9_ _xD83D__xDE80__x000D__x000A_</S>')
    assert decode_stderr(text) == ["café \U0001f680"]


def test_xml_entities_are_decoded() -> None:
    text = "#< CLIXML\r\n" + _objs('<S S="Error">&lt;tag&gt; &amp; "q"_x000D__x000A_</S>')
    assert decode_stderr(text) == ['<tag> & "q"']


def test_unparseable_block_is_shown_raw() -> None:
    text = '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">broken</Objs>'
    assert decode_stderr(text) == ['<Objs Version="1.1.0.1"><S S="Error">broken</Objs>']


def test_split_lines() -> None:
    assert split_lines("a\r\nb\r\n\r\n") == ["a", "b"]
    assert split_lines("a\rb") == ["a", "b"]
    assert split_lines("\r\n") == []
    assert split_lines("a\n\nb") == ["a", "", "b"]
