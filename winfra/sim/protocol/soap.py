"""WS-Management SOAP envelopes as Windows writes them (MS-WSMV), parsed and built.

Response shapes follow the recordings of a real Windows Server 2016 in jborean93/pypsrp
(``tests/tests_pypsrp/responses/test_winrs_*.yml``, MIT; see
shared/reference/testing-without-windows.md §c): the namespace prefixes (``s a x w rsp p``),
``xml:lang="en-US"`` on the envelope, ``a:To`` anonymous, ``a:RelatesTo`` the request's
MessageID, upper-case GUIDs, and the exact fault layout (``s:Fault`` with a
``f:WSManFault Code=... Machine=...`` detail, sent with HTTP 500).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}

SHELL_NS = NS["rsp"]
CMD_RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = f"{SHELL_NS}/Command"
ACTION_SEND = f"{SHELL_NS}/Send"
ACTION_RECEIVE = f"{SHELL_NS}/Receive"
ACTION_SIGNAL = f"{SHELL_NS}/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

SIGNAL_TERMINATE = f"{SHELL_NS}/signal/terminate"
SIGNAL_CTRL_C = f"{SHELL_NS}/signal/ctrl_c"
SIGNAL_CTRL_BREAK = f"{SHELL_NS}/signal/ctrl_break"
STATE_DONE = f"{SHELL_NS}/CommandState/Done"
STATE_RUNNING = f"{SHELL_NS}/CommandState/Running"

# The envelope opening Windows uses for shell responses (pypsrp test_winrs_standard.yml).
_ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{a}" xmlns:x="{x}" xmlns:w="{w}" '
    'xmlns:rsp="{rsp}" xmlns:p="{p}">'
).format(**NS)
# Faults carry the eventing/enumeration namespaces and no rsp (pypsrp
# test_winrs_operation_timeout.yml).
_FAULT_ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{a}" xmlns:x="{x}" '
    'xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" '
    'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="{w}" xmlns:p="{p}">'
).format(**NS)


class SoapParseError(ValueError):
    """The request body is not a WS-Management envelope we can read."""


@dataclass
class WSManRequest:
    """The parts of a WS-Management request the WinRS endpoint acts on."""

    action: str
    message_id: str
    resource_uri: str
    operation_timeout: float | None
    max_envelope_size: int | None
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None

    @property
    def shell_id(self) -> str | None:
        return self.selectors.get("ShellId")


_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float | None:
    """xs:duration as used for OperationTimeout (``PT20S``, ``PT20.000S``) → seconds."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_request(data: bytes) -> WSManRequest:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapParseError(f"malformed XML: {exc}") from exc
    header = root.find("s:Header", NS)
    if root.tag != f"{{{NS['s']}}}Envelope" or header is None:
        raise SoapParseError("not a SOAP 1.2 envelope")
    timeout = header.find("w:OperationTimeout", NS)
    max_size = header.find("w:MaxEnvelopeSize", NS)
    selectors = {sel.get("Name", ""): _text(sel) for sel in header.findall("w:SelectorSet/w:Selector", NS)}
    options = {opt.get("Name", ""): _text(opt) for opt in header.findall("w:OptionSet/w:Option", NS)}
    max_size_text = _text(max_size)
    return WSManRequest(
        action=_text(header.find("a:Action", NS)),
        message_id=_text(header.find("a:MessageID", NS)),
        resource_uri=_text(header.find("w:ResourceURI", NS)),
        operation_timeout=parse_duration(_text(timeout)) if timeout is not None else None,
        max_envelope_size=int(max_size_text) if max_size_text.isdigit() else None,
        selectors=selectors,
        options=options,
        body=root.find("s:Body", NS),
    )


def new_guid() -> str:
    """Windows writes shell and command ids as upper-case GUIDs (pypsrp recordings)."""
    return str(uuid.uuid4()).upper()


def _header(action: str, relates_to: str) -> str:
    return (
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{new_guid()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
    )


def envelope(action: str, relates_to: str, body: str) -> bytes:
    return (f"{_ENVELOPE_OPEN}{_header(action, relates_to)}<s:Body>{body}</s:Body></s:Envelope>").encode()


def create_response(
    relates_to: str,
    *,
    address: str,
    shell_id: str,
    owner: str,
    client_ip: str,
    env: dict[str, str],
    working_directory: str | None,
) -> bytes:
    """CreateResponse: ``x:ResourceCreated`` with the ShellId selector, then ``rsp:Shell``
    (pypsrp test_winrs_standard.yml, test_winrs_environment.yml)."""
    env_xml = ""
    if env:
        env_xml = (
            "<rsp:Environment>"
            + "".join(
                f"<rsp:Variable Name={quoteattr(name)}>{escape(value)}</rsp:Variable>"
                for name, value in env.items()
            )
            + "</rsp:Environment>"
        )
    wd_xml = (
        f"<rsp:WorkingDirectory>{escape(working_directory)}</rsp:WorkingDirectory>"
        if working_directory
        else ""
    )
    body = (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{CMD_RESOURCE_URI}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
        f'</x:ResourceCreated><rsp:Shell xmlns:rsp="{SHELL_NS}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
        f"<rsp:ResourceUri>{CMD_RESOURCE_URI}</rsp:ResourceUri><rsp:Owner>{escape(owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{escape(client_ip)}</rsp:ClientIP>{env_xml}{wd_xml}"
        "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
        "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
    )
    return envelope(f"{ACTION_CREATE}Response", relates_to, body)


def command_response(relates_to: str, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return envelope(f"{ACTION_COMMAND}Response", relates_to, body)


def send_response(relates_to: str) -> bytes:
    return envelope(f"{ACTION_SEND}Response", relates_to, "<rsp:SendResponse/>")


def signal_response(relates_to: str) -> bytes:
    return envelope(f"{ACTION_SIGNAL}Response", relates_to, "<rsp:SignalResponse/>")


def delete_response(relates_to: str) -> bytes:
    # DeleteResponse has an empty body and no rsp namespace (pypsrp test_winrs_standard.yml).
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}" '
        f'xmlns:p="{NS["p"]}">{_header(f"{ACTION_DELETE}Response", relates_to)}<s:Body></s:Body></s:Envelope>'
    ).encode()


def receive_response(
    relates_to: str,
    command_id: str,
    stdout: bytes,
    stderr: bytes,
    *,
    done: bool,
    exit_code: int | None,
) -> bytes:
    """ReceiveResponse. While running: data streams and ``CommandState/Running``; when done, the
    last data followed by empty ``End="true"`` stdout and stderr streams and ``CommandState/Done``
    with ``rsp:ExitCode`` (pypsrp test_winrs_standard.yml, test_winrs_stderr_rc.yml)."""
    import base64

    cid = command_id
    parts = ["<rsp:ReceiveResponse>"]
    if stdout:
        parts.append(
            f'<rsp:Stream Name="stdout" CommandId="{cid}">{base64.b64encode(stdout).decode()}</rsp:Stream>'
        )
    if stderr:
        parts.append(
            f'<rsp:Stream Name="stderr" CommandId="{cid}">{base64.b64encode(stderr).decode()}</rsp:Stream>'
        )
    if done:
        parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>')
        parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>')
        # ExitCode is a 32-bit unsigned value on the wire (a process exit code is a DWORD): wsl.exe's -1
        # reads as 4294967295 (windows-facts A.2); WinRM clients report such codes unsigned, e.g.
        # 4294901760 in https://github.com/AcademySoftwareFoundation/OpenCue/pull/1028.
        code = (exit_code or 0) & 0xFFFFFFFF
        parts.append(
            f'<rsp:CommandState CommandId="{cid}" State="{STATE_DONE}"><rsp:ExitCode>{code}</rsp:ExitCode>'
            "</rsp:CommandState>"
        )
    else:
        parts.append(f'<rsp:CommandState CommandId="{cid}" State="{STATE_RUNNING}"></rsp:CommandState>')
    parts.append("</rsp:ReceiveResponse>")
    return envelope(f"{ACTION_RECEIVE}Response", relates_to, "".join(parts))


# Empty ReceiveResponse with no streams costs this many bytes besides the two stream payloads; used
# to keep responses under the client's MaxEnvelopeSize header.
RECEIVE_OVERHEAD = 2048


@dataclass(frozen=True)
class WSManFault(Exception):
    """A SOAP fault as Windows sends it: HTTP 500, ``s:Fault`` with a WSManFault detail."""

    code: str  # "s:Sender" or "s:Receiver"
    subcode: str  # e.g. "w:TimedOut"
    reason: str
    wsman_code: int
    message: str
    fault_detail: str | None = None
    http_status: int = 500
    # A plugin's error is wrapped as <f:ProviderFault provider=... path=...> inside f:Message.
    provider: tuple[str, str] | None = None

    def _message_xml(self) -> str:
        if self.provider is None:
            return escape(self.message)
        name, path = self.provider
        return (
            f"<f:ProviderFault provider={quoteattr(name)} path={quoteattr(path)}>{escape(self.message)}"
            "</f:ProviderFault>"
        )

    def to_xml(self, relates_to: str, machine: str) -> bytes:
        detail = f"<w:FaultDetail>{escape(self.fault_detail)}</w:FaultDetail>" if self.fault_detail else ""
        body = (
            f"<s:Fault><s:Code><s:Value>{self.code}</s:Value><s:Subcode><s:Value>{self.subcode}</s:Value>"
            f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(self.reason)}</s:Text>'
            "</s:Reason>"
            f'<s:Detail>{detail}<f:WSManFault xmlns:f="{NS["f"]}" Code="{self.wsman_code}" '
            f"Machine={quoteattr(machine)}><f:Message>{self._message_xml()}</f:Message></f:WSManFault>"
            "</s:Detail></s:Fault>"
        )
        return (
            f"{_FAULT_ENVELOPE_OPEN}{_header(ACTION_FAULT, relates_to)}<s:Body>{body}</s:Body></s:Envelope>"
        ).encode()


# --- The faults we send, each with its source ---------------------------------------------------

_TIMEOUT_TEXT = (
    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
)


def fault_operation_timeout() -> WSManFault:
    """Receive long-poll expired: pypsrp test_winrs_operation_timeout.yml (HTTP 500, w:TimedOut,
    2150858793); pywinrm turns this code into WinRMOperationTimeoutError and retries."""
    return WSManFault("s:Receiver", "w:TimedOut", _TIMEOUT_TEXT, 2150858793, _TIMEOUT_TEXT)


_SELECTORS_REASON = (
    "The WS-Management service cannot process the request because the request contained invalid "
    "selectors for the resource. "
)
_UNEXPECTED_SELECTORS = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors"


def fault_unknown_shell(shell_id: str) -> WSManFault:
    """Unknown ShellId. Layout and code as pypsrp test_winrs_bad_cmd_id.yml (w:InvalidSelectors,
    2150858843 = ERROR_WSMAN_INVALID_SELECTORS); the message text is the one Windows writes for a
    missing shell, quoted in dmaasland/proxyshell-poc#10."""
    message = (
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "
    )
    return WSManFault(
        "s:Sender", "w:InvalidSelectors", _SELECTORS_REASON, 2150858843, message, _UNEXPECTED_SELECTORS
    )


def fault_unknown_command() -> WSManFault:
    """Unknown CommandId: verbatim from pypsrp test_winrs_bad_cmd_id.yml."""
    message = (
        "The Windows Remote Shell received a request to perform an operation on a command identifier that "
        "does not exist. Either the command has completed execution or the client specified an invalid "
        "command identifier. "
    )
    return WSManFault(
        "s:Sender", "w:InvalidSelectors", _SELECTORS_REASON, 2150858843, message, _UNEXPECTED_SELECTORS
    )


def fault_max_operations(limit: int) -> WSManFault:
    """MaxConcurrentOperationsPerUser exceeded: WSManFault 2150859174 (0x803381A6,
    ERROR_WSMAN_QUOTA_MAX_OPERATIONS) with the message quoted in diyan/pywinrm#124 and
    dmitry-zaets/vagrantfile-windows-iis-mssql#7; subcode w:QuotaLimit (DMTF DSP0226 fault table);
    anchors-and-winrm.md §3.3."""
    message = (
        f"The WS-Management service cannot process the request. This user is allowed a maximum number of "
        f"{limit} concurrent operations, which has been exceeded. Close existing operations for this user, "
        "or raise the quota for this user. "
    )
    return WSManFault("s:Sender", "w:QuotaLimit", message, 2150859174, message)


def fault_max_shells(limit: int) -> WSManFault:
    """MaxShellsPerUser exceeded on Create (anchors-and-winrm.md §3.3). Layout, reason and message
    as in a captured Windows fault kept in the Cerebrum AD2 WinRM client's documentation
    (s:Sender, w:QuotaLimit, WSManFault 2150859173 = ERROR_WSMAN_QUOTA_MAX_SHELLS; the constant
    also in winerror.h bindings, e.g. windows-rs); the message text also in
    dmitry-zaets/vagrantfile-windows-iis-mssql#9."""
    reason = (
        "The WS-Management service cannot process the request. The maximum number of concurrent shells "
        "for this user has been exceeded. Close existing shells or raise the quota for this user. "
    )
    message = (
        f"The WS-Management service cannot process the request. This user is allowed a maximum number of "
        f"{limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for "
        "this user. "
    )
    return WSManFault("s:Sender", "w:QuotaLimit", reason, 2150859173, message)


def fault_file_not_found() -> WSManFault:
    """``WINRS_SKIP_CMD_SHELL`` with a program that is not found (no cmd.exe to search PATH):
    verbatim from pypsrp test_winrs_no_cmd_shell.yml (s:Receiver, w:InternalError, WSManFault
    2147942402 = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), a ProviderFault of winrscmd.dll)."""
    text = "The system cannot find the file specified. "
    return WSManFault(
        "s:Receiver",
        "w:InternalError",
        text,
        2147942402,
        text,
        provider=("Shell cmd plugin", "%systemroot%\\system32\\winrscmd.dll"),
    )


def fault_access_denied() -> WSManFault:
    """An authenticated user the service does not admit. HTTP 500 for valid credentials without
    permission, 401 only for bad credentials (rundeck-plugins/rundeck-winrm-plugin#18,
    shoneslab/nodejs-winrm#30, diyan/pywinrm#275). The fault body is not in those reports:
    DSP0226 ``w:AccessDenied`` with WSManFault code 5 (ERROR_ACCESS_DENIED) is our assumption."""
    text = "Access is denied. "
    return WSManFault("s:Sender", "w:AccessDenied", text, 5, text)


def fault_invalid_parameter() -> WSManFault:
    """Malformed request: pypsrp test_winrs_fail_poll_process.yml (w:InvalidParameter, code 87)."""
    reason = "The parameter is incorrect. "
    return WSManFault(
        "s:Sender",
        "w:InvalidParameter",
        reason,
        87,
        reason,
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue",
    )


def fault_action_not_supported(action: str) -> WSManFault:
    """An action or resource the simulator does not implement (e.g. the PSRP resource URI).
    winerror.h ERROR_WSMAN_ACTION_NOT_SUPPORTED (0x80338013 = 2150858771): "wsa, code=Sender,
    subcode=WS-Addressing ActionNotsupported", text "The WS-Management service does not support
    the action specified in the request."."""
    text = "The WS-Management service does not support the action specified in the request. "
    return WSManFault("s:Sender", "a:ActionNotSupported", text, 2150858771, text)
