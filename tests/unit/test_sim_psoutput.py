"""Windows PowerShell 5.1 output formats (winfra.sim.shell.psoutput)."""

from __future__ import annotations

import json

from winfra.sim.shell import psoutput
from winfra.transport.clixml import decode_escapes


def test_convert_to_json_compress_layout() -> None:
    value = {"a": 1, "b": [True, None, 2.5], "c": {"d": "x"}, "e": []}
    text = psoutput.convert_to_json(value)
    assert text == '{"a":1,"b":[true,null,2.5],"c":{"d":"x"},"e":[]}'
    assert json.loads(text) == value


def test_convert_to_json_escapes_like_javascriptserializer() -> None:
    # PowerShell/PowerShell#7693: 5.x writes 'def' as \u0027def\u0027; < > & too.
    text = psoutput.convert_to_json({"s": "<a href='x'>&</a>\t\"\\é\x01"})
    assert text == '{"s":"\\u003ca href=\\u0027x\\u0027\\u003e\\u0026\\u003c/a\\u003e\\t\\"\\\\é\\u0001"}'
    assert json.loads(text) == {"s": "<a href='x'>&</a>\t\"\\é\x01"}


def test_single_element_list_stays_a_list_and_depth_truncates() -> None:
    assert psoutput.convert_to_json([{"x": 1}]) == '[{"x":1}]'
    deep = {"l1": {"l2": {"l3": 1}}}
    assert psoutput.convert_to_json(deep, depth=1) == '{"l1":{"l2":"System.Collections.Hashtable"}}'


def test_clixml_error_record_round_trips_through_winfra_decoder() -> None:
    lines = psoutput.error_record_lines("Boom: it's <bad> & _x0041_", error_id="MyError")
    xml = psoutput.clixml_errors([lines])
    assert xml.startswith(
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    )
    assert '<S S="Error">Boom: it\'s &lt;bad&gt; &amp; _x005F_x0041__x000D__x000A_</S>' in xml
    assert "    + FullyQualifiedErrorId : MyError_x000D__x000A_" in xml
    from winfra.transport.clixml import CLIXML_MARKER

    assert xml.startswith(CLIXML_MARKER)
    assert decode_escapes("_x005F_x0041_") == "_x0041_"


def test_pywinrm_cleans_our_clixml() -> None:
    import winrm

    xml = psoutput.clixml_errors([psoutput.not_recognized_lines("fake", "fake cmdlet")])
    cleaned = winrm.Session._clean_error_msg(winrm.Session.__new__(winrm.Session), xml.encode())
    assert b"The term 'fake' is not recognized" in cleaned
    assert b"CommandNotFoundException" in cleaned


def test_console_encode_code_pages() -> None:
    assert psoutput.console_encode("é", 437) == b"\x82"
    assert psoutput.console_encode("é", 65001) == "é".encode()
    assert psoutput.console_encode("こ", 437) == b"?"
