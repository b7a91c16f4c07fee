"""The simulator's read-only PowerShell interpreter: what a verification suite (testinfra) or an
ad-hoc command may run against a simulated host besides winfra's rendered scripts.

Contract (called by :mod:`winfra.sim.shell.executor`)::

    interpret(host, user, script, env, *, cwd=None, stdin=None) -> (stdout, stderr, exit_code)

``stdout`` is ``str`` (the executor encodes it with the console code page) or ``bytes`` when a
native program wrote raw bytes (``wsl.exe`` writes UTF-16LE: windows-facts A.4). ``stderr`` is the
plain text of one error record (the executor wraps it in CLIXML), or ``bytes`` holding a complete
CLIXML document when several records were written.

The text is parsed with tree-sitter-pwsh (:func:`winfra.powershell.syntax.parse`), never with
regular expressions, and evaluated over a small read-only subset:

* statements separated by ``;`` or newlines; ``$env:X = 'v'`` and ``$x = ...`` assignments;
  string/number/``$true``/``$false``/``$null`` literals, ``"..."`` with ``$env:X``/``$x``,
  ``a,b`` arrays, ``@(...)``, ``(...)``, ``.Member`` access, ``.ToString()``, ``-eq``/``-ne``/
  ``-like``/``-is``; ``exit N``;
* cmdlets ``Get-Service``, ``Test-Path``, ``Get-Content`` (``-Raw``, ``-Encoding``, ``-TotalCount``),
  ``Get-Item``, ``Get-ChildItem``, ``Get-ItemProperty`` (also from piped keys),
  ``Get-ItemPropertyValue``, ``Get-WindowsOptionalFeature -Online``, ``Get-WindowsFeature``,
  ``Get-LocalUser``, ``Get-LocalGroupMember``, ``Write-Output``; pipeline cmdlets
  ``ConvertTo-Json``, ``Select-Object``, ``Where-Object``, ``ForEach-Object``, ``Out-String``;
* native ``wsl.exe`` (``-l``/``--list`` with ``-v``/``-q``/``--running``, ``--version``,
  ``--status``), ``docker version`` (text, or ``--format '{{json .}}'``), ``systeminfo``,
  ``findstr``, ``net user``/``net localgroup`` (what testinfra's Windows modules run), also as a
  cmd.exe line with a quoted program path (testinfra sends commands through cmd.exe).

Anything else is PowerShell's CommandNotFoundException ("The term 'X' is not recognized as the
name of a cmdlet, function, script file, or operable program.") with exit 1.

Exit code (``powershell.exe -Command`` semantics): ``exit N`` wins; otherwise 1 when the last
statement failed (``$?`` false: it wrote an error, or it was a native program with a non-zero exit
code, which powershell.exe maps to 1: PowerShell/PowerShell#13501, about_PowerShell_exe), else 0.
With ``shell="cmd"`` (a cmd.exe line naming a native program, as WinRS runs testinfra's commands)
the program's own exit code is returned, e.g. wsl.exe's -1 (windows-facts A.2). A cmd.exe line
starting with a quoted program path is never PowerShell, so it is treated as ``shell="cmd"``.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tree_sitter import Node

from winfra.powershell.syntax import parse
from winfra.sim.models import wsl as wslmodel
from winfra.sim.models.filesystem import normalize_path
from winfra.sim.models.registry import REG_BINARY, normalize_key
from winfra.sim.shell import psoutput
from winfra.sim.shell.cmdline import first_token, program_name, split_args

if TYPE_CHECKING:
    from winfra.sim.models.host import SimHost

CRLF = "\r\n"
_PARSE_LOCK = threading.Lock()


# =============================================================================================
# Values
# =============================================================================================


@dataclass(frozen=True)
class PSEnum:
    """An enum value: prints its name, serialises as its number (ConvertTo-Json in PS 5.1 writes
    enums as integers: windows-facts D.1)."""

    name: str
    value: int

    def __str__(self) -> str:
        return self.name


@dataclass
class PSObject:
    """A .NET/PSCustomObject stand-in: ordered properties plus the type name and default view."""

    type_name: str
    props: dict[str, Any]
    # Properties shown by default formatting (None: all), and table vs list view.
    view: list[str] | None = None
    table: bool = False
    # What ToString() / string expansion gives (default: the type name, as .NET objects do).
    text: str | None = None

    def get(self, name: str) -> Any:
        for k, v in self.props.items():
            if k.lower() == name.lower():
                return v
        return None

    def has(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k in self.props)


@dataclass
class _ScriptBlock:
    """A ``{ ... }`` argument (Where-Object / ForEach-Object); evaluated per input with ``$_``."""

    node: Node

    def run(self, state: _State, item: Any) -> list[Any]:
        saved = state.variables.get("_")
        state.variables["_"] = item
        try:
            out: list[Any] = []
            body = _find(self.node, "statement_list")
            for stmt in _named_children(body) if body is not None else []:
                if stmt.type == "pipeline":
                    out.extend(_eval_pipeline(state, stmt))
                elif stmt.type not in ("empty_statement", "comment"):
                    raise _Unsupported(_first_word(_text(stmt)), _text(stmt))
            return out
        finally:
            state.variables["_"] = saved


def _is_true(value: Any) -> bool:
    """LanguagePrimitives.IsTrue: $null, "", 0 and empty collections are false; a one-element
    collection is its element (about_Booleans)."""
    if isinstance(value, list):
        if not value:
            return False
        return _is_true(value[0]) if len(value) == 1 else True
    if value is None:
        return False
    if isinstance(value, PSEnum):
        return value.value != 0
    if isinstance(value, bool | int | float):
        return bool(value)
    if isinstance(value, str):
        return value != ""
    return True


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Unsupported(Exception):
    """Syntax the interpreter does not evaluate; reported as not recognized."""

    def __init__(self, name: str, line: str) -> None:
        self.name = name
        self.line = line


@dataclass
class _Native:
    """Output of a native program: bytes as it wrote them (wsl.exe), or text for programs that
    write in the console code page (the executor encodes ``str``)."""

    stdout: bytes | str
    exit_code: int
    stderr: bytes = b""


@dataclass
class _State:
    host: SimHost
    user: str
    env: dict[str, str]
    cwd: str | None
    variables: dict[str, Any] = field(default_factory=dict)
    out: list[str | bytes] = field(default_factory=list)
    errors: list[list[str]] = field(default_factory=list)
    last_failed: bool = False
    last_native_code: int | None = None
    # Raw stderr bytes native programs wrote (passed through unchanged).
    native_stderr: list[bytes] = field(default_factory=list)


# =============================================================================================
# Entry point
# =============================================================================================


def interpret(
    host: SimHost,
    user: str,
    script: str,
    env: dict[str, str],
    *,
    cwd: str | None = None,
    stdin: str | None = None,
    shell: str = "powershell",
) -> tuple[str | bytes, str | bytes, int]:
    """Run a read-only PowerShell text (or, ``shell="cmd"``, a cmd.exe line naming a supported
    native program)."""
    state = _State(host=host, user=user, env=dict(env), cwd=cwd)
    state.variables.update({"true": True, "false": False, "null": None})
    # One consistent view of the host: the endpoint runs commands in threads, and evaluation is
    # short and never waits on another thread, so the host lock is held throughout.
    with host.lock:
        return _interpret_locked(state, script, shell)


def _interpret_locked(state: _State, script: str, shell: str) -> tuple[str | bytes, str | bytes, int]:
    code: int | None = None
    try:
        native = _cmd_line_native(script)
        if native is not None:
            shell = "cmd"
            result = _run_native(state, native[0], native[1], None)
            state.out.append(result.stdout)
            state.native_stderr.append(result.stderr)
            state.last_native_code = result.exit_code
        else:
            # One shared tree-sitter Parser (winfra.powershell.syntax.parser) serves every host's
            # threads; a Parser is not meant for concurrent use.
            with _PARSE_LOCK:
                tree = parse(script)
            if tree.root_node.has_error:
                return _parse_error(script)
            _run_statements(state, tree.root_node)
    except _Exit as exc:
        code = exc.code
    except _Unsupported as exc:
        return _finish(state, not_recognized=(exc.name, exc.line), shell=shell)
    return _finish(state, code=code, shell=shell)


def _finish(
    state: _State,
    *,
    code: int | None = None,
    not_recognized: tuple[str, str] | None = None,
    shell: str = "powershell",
) -> tuple[str | bytes, str | bytes, int]:
    if not_recognized is not None:
        state.errors.append(psoutput.not_recognized_lines(*not_recognized))
        state.last_failed = True
        state.last_native_code = None
    if code is None:
        if state.last_native_code is not None:
            native = state.last_native_code
            code = native if shell == "cmd" else (0 if native == 0 and not state.last_failed else 1)
        else:
            code = 1 if state.last_failed else 0
    if any(isinstance(x, bytes) for x in state.out):
        stdout: str | bytes = b"".join(x if isinstance(x, bytes) else x.encode("utf-8") for x in state.out)
    else:
        stdout = "".join(x for x in state.out if isinstance(x, str))
    raw_err = b"".join(state.native_stderr)
    if not state.errors:
        stderr: str | bytes = raw_err if raw_err else ""
    elif len(state.errors) == 1 and not raw_err:
        stderr = "\n".join(state.errors[0])
    else:
        stderr = raw_err + psoutput.clixml_errors(state.errors).encode("utf-8")
    return stdout, stderr, code


def _parse_error(script: str) -> tuple[str, str, int]:
    # powershell.exe reports parse errors as a ParseException record and exits 1
    # (about_Parsing; the message text itself varies by token and is not modelled).
    first = next((ln for ln in script.splitlines() if ln.strip()), "")
    lines = psoutput.error_record_lines(
        f"At line:1 char:1\n+ {first}\nThe script could not be parsed (winsim interpreter).",
        category="ParserError",
        error_id="ParseException",
        target="",
    )
    return "", "\n".join(lines), 1


# =============================================================================================
# Statements and pipelines
# =============================================================================================


def _named_children(node: Node) -> list[Node]:
    return [c for c in node.children if c.is_named]


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8")


def _run_statements(state: _State, node: Node) -> None:
    for child in _named_children(node):
        if child.type == "statement_list":
            _run_statements(state, child)
        elif child.type == "empty_statement" or child.type == "comment":
            continue
        elif child.type == "pipeline":
            _run_top_pipeline(state, child)
        elif child.type == "flow_control_statement":
            _run_flow(state, child)
        else:
            raise _Unsupported(_first_word(_text(child)), _text(child).splitlines()[0])


def _first_word(text: str) -> str:
    return re.split(r"[\s;(){}]", text.strip(), maxsplit=1)[0] or text.strip()


def _run_flow(state: _State, node: Node) -> None:
    keyword = _text(node).split(None, 1)[0].lower()
    if keyword != "exit":
        raise _Unsupported(keyword, _text(node))
    pipes = [c for c in _named_children(node) if c.type == "pipeline"]
    value: Any = 0
    if pipes:
        values = _eval_pipeline(state, pipes[0])
        value = values[0] if values else 0
    try:
        code = int(value)
    except (TypeError, ValueError):
        code = 0
    raise _Exit(code)


def _run_top_pipeline(state: _State, node: Node) -> None:
    children = _named_children(node)
    state.last_failed = False
    state.last_native_code = None
    if children and children[0].type == "assignment_expression":
        _assign(state, children[0])
        return
    errors_before = len(state.errors)
    output = _eval_pipeline(state, node, top=True)
    state.out.append(_format_output(output) if not _is_raw(output) else output[0].stdout)
    if len(state.errors) > errors_before:
        state.last_failed = True


def _is_raw(output: list[Any]) -> bool:
    return len(output) == 1 and isinstance(output[0], _Native)


def _assign(state: _State, node: Node) -> None:
    left = next(c for c in _named_children(node) if c.type == "left_assignment_expression")
    value_node = next(c for c in _named_children(node) if c.type == "assignment_value")
    op = next(c for c in _named_children(node) if c.type == "assignment_operator")
    if _text(op).strip() != "=":
        raise _Unsupported(_text(op).strip(), _text(node))
    var = _find(left, "variable")
    if var is None:
        raise _Unsupported(_text(left), _text(node))
    values = _eval_pipeline(state, value_node)
    value: Any = values[0] if len(values) == 1 else values
    name = _variable_name(_text(var))
    if name.lower().startswith("env:"):
        # $env:X = 'v' sets the process environment (about_Environment_Variables).
        state.env[name[4:]] = "" if value is None else _to_string(value)
    else:
        state.variables[name.lower()] = value


def _find(node: Node, type_name: str) -> Node | None:
    if node.type == type_name:
        return node
    for c in node.children:
        found = _find(c, type_name)
        if found is not None:
            return found
    return None


def _variable_name(text: str) -> str:
    text = text.lstrip("$")
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return text


def _eval_pipeline(state: _State, node: Node, *, top: bool = False) -> list[Any]:
    """Evaluate a ``pipeline``/``pipeline_chain``/``assignment_value`` node to its output objects."""
    chain = node
    if node.type in ("pipeline", "assignment_value"):
        inner = _named_children(node)
        if len(inner) == 1 and inner[0].type == "pipeline_chain":
            chain = inner[0]
        elif len(inner) == 1 and inner[0].type == "assignment_expression":
            raise _Unsupported(_first_word(_text(inner[0])), _text(inner[0]))
        elif len(inner) == 1:
            return _as_list(_eval_expr(state, inner[0]))
    elements = [c for c in _named_children(chain) if c.type != "comment"]
    data: list[Any] | None = None
    for i, element in enumerate(elements):
        last = i == len(elements) - 1
        if element.type == "command":
            data = _run_command(state, element, data, raw_ok=top and last and i == 0)
        else:
            if i > 0:
                raise _Unsupported(_first_word(_text(element)), _text(element))
            data = _as_list(_eval_expr(state, element))
    return data or []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


# =============================================================================================
# Expressions
# =============================================================================================


def _eval_expr(state: _State, node: Node) -> Any:
    t = node.type
    if t == "type_literal":
        return _text(node)
    if (
        t in ("unary_expression", "command_name_expr", "expression_with_unary_operator")
        and len(_named_children(node)) == 1
    ):
        return _eval_expr(state, _named_children(node)[0])
    if t == "string_literal":
        return _eval_expr(state, _named_children(node)[0])
    if t == "verbatim_string_characters":
        raw = _text(node)
        return raw[1:-1].replace("''", "'")
    if t == "expandable_string_literal":
        return _expand_string(state, node)
    if t in ("verbatim_here_string_characters", "expandable_here_string_literal"):
        raw = _text(node)
        body = raw[2:-2].strip("\r\n")
        return body if t.startswith("verbatim") else _expand_text(state, body)
    if t in ("integer_literal", "decimal_integer_literal", "hexadecimal_integer_literal"):
        txt = _text(node)
        return int(txt, 16) if txt.lower().startswith("0x") else int(txt)
    if t == "real_literal":
        return float(_text(node))
    if t == "variable":
        return _lookup(state, _variable_name(_text(node)))
    if t == "generic_token":
        return _text(node)
    if t == "expandable_bareword":
        return "".join(_to_string(_eval_expr(state, c)) for c in _named_children(node))
    if t == "braced_variable":
        return _lookup(state, _variable_name(_text(node)))
    if t in ("array_literal_expression", "bareword_argument_list"):
        out: list[Any] = []
        for c in _named_children(node):
            out.extend(_as_list(_eval_expr(state, c)))
        return out
    if t == "parenthesized_expression":
        inner = _named_children(node)
        values = _eval_pipeline(state, inner[0]) if inner else []
        return values[0] if len(values) == 1 else values
    if t in ("array_expression", "sub_expression"):
        inner = _named_children(node)
        values: list[Any] = []
        if inner:
            sub = _State(state.host, state.user, state.env, state.cwd, state.variables)
            for stmt in _named_children(inner[0]) if inner[0].type == "statement_list" else inner:
                if stmt.type == "pipeline":
                    values.extend(_eval_pipeline(sub, stmt))
            state.errors.extend(sub.errors)
        if t == "array_expression":
            return values
        return values[0] if len(values) == 1 else values
    if t == "pipeline_chain" or t == "pipeline":
        values = _eval_pipeline(state, node)
        return values[0] if len(values) == 1 else values
    if t == "script_block_expression":
        return _ScriptBlock(node)
    if t == "member_access":
        return _member(state, node)
    if t == "concatenated_command_argument":
        return "".join(_to_string(_eval_expr(state, c)) for c in _named_children(node))
    if t == "pre_decrement_expression" and _text(node).startswith("--"):
        # ``cat -- 'path'``: the grammar reads the end-of-parameters marker as a pre-decrement.
        return _eval_expr(state, _named_children(node)[0])
    if t == "invocation_expression":
        return _invoke(state, node)
    if t == "comparison_expression":
        return _compare(state, node)
    raise _Unsupported(_first_word(_text(node)), _text(node))


def _member(state: _State, node: Node) -> Any:
    """``expr.Name``; over a collection, member enumeration (about_Member-Access_Enumeration)."""
    kids = _named_children(node)
    target = _eval_expr(state, kids[0])
    name_node = next((c for c in kids[1:] if c.type == "member_name"), None)
    if name_node is None or _text(node)[len(_text(kids[0])) :].startswith("::"):
        raise _Unsupported(_first_word(_text(node)), _text(node))
    name = _text(name_node)
    if isinstance(target, list):
        values = [_property(v, name) for v in target]
        found = [v for v in values if v is not _MISSING]
        if not found and target:
            whole = _property(target, name)
            return None if whole is _MISSING else whole
        return found[0] if len(found) == 1 else found
    value = _property(target, name)
    return None if value is _MISSING else value


def _invoke(state: _State, node: Node) -> Any:
    """Only ``.ToString()`` (used to print enums by name: windows-facts D.1)."""
    kids = _named_children(node)
    names = [c for c in kids if c.type == "member_name"]
    args = next((c for c in kids if c.type == "argument_list"), None)
    if len(names) != 1 or _text(names[0]).lower() != "tostring" or (args and _text(args).strip() != "()"):
        raise _Unsupported(_first_word(_text(node)), _text(node))
    target = _eval_expr(state, kids[0])
    return [_to_string(v) for v in target] if isinstance(target, list) else _to_string(target)


def _compare(state: _State, node: Node) -> Any:
    """``-eq``/``-ne``/``-like`` (case-insensitive, as PowerShell's default operators are)."""
    kids = _named_children(node)
    op = next((c for c in kids if c.type == "comparison_operator"), None)
    operands = [c for c in kids if c.type != "comparison_operator"]
    if op is None or len(operands) != 2:
        raise _Unsupported(_first_word(_text(node)), _text(node))
    left, right = _eval_expr(state, operands[0]), _eval_expr(state, operands[1])
    opname = _text(op).lower()

    def eq(a: Any, b: Any) -> bool:
        if isinstance(a, str) or isinstance(b, str):
            return _to_string(a).lower() == _to_string(b).lower()
        if isinstance(a, PSEnum):
            return a.value == b or a.name.lower() == _to_string(b).lower()
        return bool(a == b)

    if opname in ("-eq", "-ieq"):
        return eq(left, right)
    if opname in ("-ne", "-ine"):
        return not eq(left, right)
    if opname in ("-is", "-isnot"):
        type_node = _find(operands[1], "type_name")
        wanted = (_text(type_node) if type_node is not None else _to_string(right)).lower()
        actual = left.type_name.lower() if isinstance(left, PSObject) else ""
        hit = bool(actual) and (
            actual == wanted or actual.endswith("." + wanted) or wanted.endswith("." + actual)
        )
        return hit if opname == "-is" else not hit
    if opname in ("-like", "-ilike"):
        return fnmatch.fnmatch(_to_string(left).lower(), _to_string(right).lower())
    if opname in ("-notlike", "-inotlike"):
        return not fnmatch.fnmatch(_to_string(left).lower(), _to_string(right).lower())
    raise _Unsupported(_text(op), _text(node))


def _lookup(state: _State, name: str) -> Any:
    if name.lower().startswith("env:"):
        key = name[4:]
        for k, v in state.env.items():
            if k.lower() == key.lower():
                return v
        return None
    if name.lower() == "lastexitcode":
        return state.last_native_code
    return state.variables.get(name.lower())


def _expand_string(state: _State, node: Node) -> str:
    raw = _text(node)
    body = raw[1:-1]
    return _expand_text(state, body)


_EXPAND = re.compile(r"`(.)|\$\{([^}]+)\}|\$((?:env:)?[A-Za-z_][A-Za-z0-9_]*)|\"\"", re.S)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _expand_text(state: _State, body: str) -> str:
    """Expand ``$env:X``, ``${env:X}``, ``$x`` and backtick escapes in a double-quoted string
    (about_Quoting_Rules). ``$(...)`` subexpressions are not evaluated here."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return _ESCAPES.get(m.group(1), m.group(1))
        if m.group(0) == '""':
            return '"'
        name = m.group(2) or m.group(3)
        return _to_string(_lookup(state, name))

    return _EXPAND.sub(repl, body)


def _to_string(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, list):
        return " ".join(_to_string(v) for v in value)
    if isinstance(value, PSObject):
        return value.text if value.text is not None else value.type_name
    return str(value)


# =============================================================================================
# Commands
# =============================================================================================


@dataclass
class _Args:
    positional: list[Any] = field(default_factory=list)
    named: dict[str, Any] = field(default_factory=dict)  # lower-case name -> value (True for a switch)


def _bind_args(state: _State, elements: Node | None, switches: set[str]) -> _Args:
    """Collect ``-Name value`` / ``-Name:value`` / ``-Switch`` and positional arguments.

    ``switches`` lists (lower-case) switch parameters that take no value."""
    args = _Args()
    if elements is None:
        return args
    items = [c for c in elements.children if c.type != "comment"]
    i = 0
    while i < len(items):
        item = items[i]
        if item.type == "command_argument_sep":
            i += 1
            continue
        if item.type == "command_parameter":
            name = _text(item).lstrip("-").rstrip(":").lower()
            colon = _text(item).endswith(":") or (
                i + 1 < len(items)
                and items[i + 1].type == "command_argument_sep"
                and _text(items[i + 1]) == ":"
            )
            if _is_switch(name, switches) and not colon:
                args.named[name] = True
                i += 1
                continue
            # The value is the next non-separator element.
            j = i + 1
            while j < len(items) and items[j].type == "command_argument_sep":
                j += 1
            if j < len(items) and items[j].type != "command_parameter":
                args.named[name] = _eval_expr(state, items[j])
                i = j + 1
            else:
                args.named[name] = True
                i += 1
            continue
        args.positional.append(_eval_expr(state, item))
        i += 1
    return args


def _is_switch(name: str, switches: set[str]) -> bool:
    return any(s.startswith(name) for s in switches)


def _param(args: _Args, *names: str, minimum: int = 1) -> Any:
    """A named argument by full name or unambiguous prefix (PowerShell parameter binding)."""
    for given, value in args.named.items():
        for name in names:
            if len(given) >= minimum and name.lower().startswith(given):
                return value
    return None


def _resolve_command_name(state: _State, node: Node) -> tuple[str, str]:
    """(normalised name, the text as written) of a command node."""
    name_node = next(
        (c for c in _named_children(node) if c.type in ("command_name", "command_name_expr")), None
    )
    if name_node is None:
        raise _Unsupported(_first_word(_text(node)), _text(node))
    if name_node.type == "command_name_expr":
        written = _to_string(_eval_expr(state, name_node))
    else:
        written = _text(name_node)
    return written.lower(), written


def _run_command(state: _State, node: Node, input_objects: list[Any] | None, *, raw_ok: bool) -> list[Any]:
    name, written = _resolve_command_name(state, node)
    elements = next((c for c in _named_children(node) if c.type == "command_elements"), None)
    native = _native_kind(state, written)
    if native is not None:
        argv = _native_argv(state, elements)
        lines_in = None if input_objects is None else [_to_string(o) for o in input_objects]
        result = _run_native(state, native, argv, lines_in)
        state.last_native_code = result.exit_code
        state.native_stderr.append(result.stderr)
        if raw_ok:
            return [result]
        # Piped on: PowerShell decodes native output with [Console]::OutputEncoding (windows-facts
        # A.4: UTF-16 output then shows up as characters separated by NULs) and splits lines.
        out = result.stdout
        text = out if isinstance(out, str) else out.decode("utf-8", errors="replace")
        return [ln for ln in re.split(r"\r*\n", text) if ln != ""] if text else []
    handler = _CMDLETS.get(_ALIASES.get(name, name))
    if handler is None:
        raise _Unsupported(written, _text(node).splitlines()[0])
    func, switches = handler
    args = _bind_args(state, elements, switches)
    erroraction = _param(args, "erroraction", minimum=2)
    errors_before = len(state.errors)
    result = func(state, args, input_objects)
    if erroraction is not None and str(erroraction).lower() in ("silentlycontinue", "ignore"):
        del state.errors[errors_before:]
    elif erroraction is not None and str(erroraction).lower() == "stop" and len(state.errors) > errors_before:
        # -ErrorAction Stop turns the first error into a terminating one: the rest of the script
        # does not run (about_CommonParameters).
        state.last_failed = True
        raise _Exit(1)
    return result


def _native_argv(state: _State, elements: Node | None) -> list[str]:
    argv: list[str] = []
    if elements is None:
        return argv
    for item in elements.children:
        if item.type == "command_argument_sep":
            continue
        if item.type == "command_parameter":
            argv.append(_text(item))
        else:
            value = _eval_expr(state, item)
            argv.extend(_to_string(v) for v in _as_list(value))
    return argv


def _error(
    state: _State, command: str, message: str, *, category: str, error_id: str, target: str = ""
) -> None:
    lines = psoutput.error_record_lines(
        f"{command} : {message}", category=category, error_id=error_id, target=target
    )
    state.errors.append(lines)


# --- Get-Service --------------------------------------------------------------------------------

# System.ServiceProcess.ServiceControllerStatus / ServiceStartMode numeric values
# (https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicecontrollerstatus,
#  https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicestartmode).
_SERVICE_STATUS = {
    "Stopped": 1,
    "StartPending": 2,
    "StopPending": 3,
    "Running": 4,
    "ContinuePending": 5,
    "PausePending": 6,
    "Paused": 7,
}
_START_MODE = {"Boot": 0, "System": 1, "Automatic": 2, "Manual": 3, "Disabled": 4}


def _service_object(svc: Any) -> PSObject:
    return PSObject(
        "System.ServiceProcess.ServiceController",
        {
            "Name": svc.name,
            "CanStop": svc.state == "Running",
            "DisplayName": svc.display_name,
            "MachineName": ".",
            "ServiceName": svc.name,
            "Status": PSEnum(svc.state, _SERVICE_STATUS.get(svc.state, 0)),
            "StartType": PSEnum(svc.start_type, _START_MODE.get(svc.start_type, 3)),
        },
        view=["Status", "Name", "DisplayName"],
        table=True,
    )


def _get_service(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    names = (
        _as_list(_param(args, "name") if _param(args, "name") is not None else None) or args.positional[:1]
    )
    names = [n for v in names for n in _as_list(v)]
    services = sorted(state.host.services.all(), key=lambda s: s.name.lower())
    if not names:
        return [_service_object(s) for s in services]
    out: list[Any] = []
    for n in names:
        pattern = str(n)
        matched = [s for s in services if fnmatch.fnmatch(s.name.lower(), pattern.lower())] or [
            s
            for s in services
            if fnmatch.fnmatch(s.display_name.lower(), pattern.lower()) and _has_wild(pattern)
        ]
        if not matched and not _has_wild(pattern):
            # Get-Service's non-terminating error for an unknown name.
            _error(
                state,
                "Get-Service",
                f"Cannot find any service with service name '{pattern}'.",
                category="ObjectNotFound",
                target=pattern,
                error_id="NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand",
            )
        out.extend(_service_object(s) for s in matched)
    return out


def _has_wild(text: str) -> bool:
    return any(c in text for c in "*?[")


# --- paths: file system and registry -------------------------------------------------------------


def _path_arg(state: _State, args: _Args) -> tuple[str | None, bool]:
    """(path, literal) from -LiteralPath / -Path / the first positional argument."""
    lit = _param(args, "literalpath", "pspath", "lp")
    if lit is not None:
        return _to_string(lit), True
    p = _param(args, "path")
    if p is None and args.positional:
        p = args.positional[0]
    if isinstance(p, list):
        p = p[0] if p else None
    return (None if p is None else _to_string(p)), False


def _registry_path(text: str) -> bool:
    t = text.lower().replace("/", "\\")
    if t.startswith("registry::") or t.startswith("microsoft.powershell.core\\registry::"):
        return True
    return bool(re.match(r"(hklm|hkcu|hku|hkcr|hkey_[a-z_]+):", t))


def _reg_key(state: _State, path: str) -> str:
    p = path
    if p.lower().startswith("microsoft.powershell.core\\registry::"):
        p = p.split("::", 1)[1]
    u = state.host.users.get(state.user)
    canon = normalize_key(p, sid=u.sid if u else None)
    parts = canon.split("\\")
    if parts[0] == "HKU" and len(parts) > 1:
        owner = state.host.users.by_sid(parts[1])
        # HKU\<SID> is visible only while that user's hive is loaded: the caller's own, or a
        # logged-on user's (windows-facts A.5: "only readable through HKU\<SID> when that user is
        # logged on").
        if owner is not None and owner.name.lower() != _bare_user(state.user).lower() and not owner.logged_on:
            raise ValueError(f"the hive of {owner.name} is not loaded")
    return canon


def _bare_user(name: str) -> str:
    from winfra.sim.models.host import Users

    return Users.bare_name(name)


def _fs_path(state: _State, path: str) -> str:
    p = path.replace("/", "\\")
    if p.startswith("~"):
        p = state.env.get("USERPROFILE", "C:\\Users\\" + state.user) + p[1:]
    if not re.match(r"^[A-Za-z]:", p) and not p.startswith("\\\\") and state.cwd:
        p = state.cwd.rstrip("\\") + "\\" + p
    return normalize_path(p)


def _test_path(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    path, _literal = _path_arg(state, args)
    if path is None or path == "":
        return [False]
    path_type = str(_param(args, "pathtype") or "Any").lower()
    if _registry_path(path):
        try:
            exists = state.host.registry.key_exists(_reg_key(state, path))
        except ValueError:
            return [False]
        return [exists and path_type in ("any", "container")]
    try:
        canon = _fs_path(state, path)
    except ValueError:
        return [False]
    with state.host.lock:
        if not state.host.fs.exists(canon):
            return [False]
        is_dir = state.host.fs.is_dir(canon)
    if path_type == "leaf":
        return [not is_dir]
    if path_type == "container":
        return [is_dir]
    return [True]


def _not_found(state: _State, command: str, path: str, error_id: str) -> None:
    _error(
        state,
        command,
        f"Cannot find path '{path}' because it does not exist.",
        category="ObjectNotFound",
        target=path,
        error_id=f"PathNotFound,Microsoft.PowerShell.Commands.{error_id}",
    )


def _decode_file(data: bytes) -> str:
    """Get-Content's default decoding in Windows PowerShell 5.1: a BOM selects UTF-8/UTF-16LE/BE;
    without one the bytes are read as the ANSI code page (Windows-1252 on en-US)
    (about_Character_Encoding, "Default" encoding in Windows PowerShell)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("cp1252", errors="replace")


def _decode_with(data: bytes, encoding: str) -> str:
    """Get-Content -Encoding in Windows PowerShell 5.1 (FileSystemCmdletProviderEncoding): a BOM
    still wins; UTF8 reads UTF-8, Unicode UTF-16LE, BigEndianUnicode UTF-16BE, ASCII 7-bit,
    Default the ANSI code page, OEM the OEM code page (about_Character_Encoding)."""
    if encoding in ("default", "string", "unknown") or data.startswith(
        (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
    ):
        return _decode_file(data)
    codec = {
        "utf8": "utf-8",
        "unicode": "utf-16-le",
        "bigendianunicode": "utf-16-be",
        "ascii": "ascii",
        "oem": "cp437",
        "utf32": "utf-32-le",
        "utf7": "utf-7",
    }.get(encoding)
    if codec is None:
        raise _Unsupported("Get-Content", f"Get-Content -Encoding {encoding}")
    return data.decode(codec, errors="replace")


def _get_content(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    path, _literal = _path_arg(state, args)
    if path is None:
        return []
    try:
        canon = _fs_path(state, path)
    except ValueError:
        _not_found(state, "Get-Content", path, "GetContentCommand")
        return []
    with state.host.lock:
        if not state.host.fs.is_file(canon):
            _not_found(
                state,
                "Get-Content",
                canon if state.host.fs.exists(canon) is False else path,
                "GetContentCommand",
            )
            return []
        data = state.host.fs.read_bytes(canon)
    first = _param(args, "totalcount", "first", "head")
    encoding = str(_param(args, "encoding") or "Default").lower()
    if encoding == "byte":
        # PS 5.1 -Encoding Byte: one byte per output object (printed as a decimal number).
        raw = list(data if first is None else data[: int(first)])
        return raw
    text = _decode_with(data, encoding)
    if _param(args, "raw"):
        return [text] if text else []
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()
    if first is not None:
        lines = lines[: int(first)]
    tail = _param(args, "tail", "last")
    if tail is not None:
        lines = lines[-int(tail) :] if int(tail) else []
    return lines


def _reg_value_data(value: Any) -> Any:
    if value.kind == REG_BINARY:
        return list(value.data)
    return value.data


def _hive_display(canon: str) -> str:
    return canon.replace("HKLM\\", "HKEY_LOCAL_MACHINE\\", 1).replace("HKU\\", "HKEY_USERS\\", 1)


def _item_property_object(state: _State, canon: str, names: list[str] | None) -> PSObject | None:
    reg = state.host.registry
    values = reg.values(canon)
    props: dict[str, Any] = {}
    if names:
        for n in names:
            matched = [v for k, v in values.items() if fnmatch.fnmatch(k.lower(), n.lower())]
            if not matched and not _has_wild(n):
                _error(
                    state,
                    "Get-ItemProperty",
                    f"Property {n} does not exist at path {_hive_display(canon)}.",
                    category="InvalidArgument",
                    target=n,
                    error_id="System.Management.Automation.PSArgumentException,"
                    "Microsoft.PowerShell.Commands.GetItemPropertyCommand",
                )
                return None
            for v in matched:
                props[v.name] = _reg_value_data(v)
    else:
        for v in values.values():
            props[v.name or "(default)"] = _reg_value_data(v)
    display = _hive_display(canon)
    parent, _, child = display.rpartition("\\")
    props.update(
        {
            "PSPath": f"Microsoft.PowerShell.Core\\Registry::{display}",
            "PSParentPath": f"Microsoft.PowerShell.Core\\Registry::{parent}",
            "PSChildName": child,
            "PSDrive": "HKLM" if canon.startswith("HKLM") else "HKU",
            "PSProvider": "Microsoft.PowerShell.Core\\Registry",
        }
    )
    return PSObject("System.Management.Automation.PSCustomObject", props)


def _get_item_property(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    path, _literal = _path_arg(state, args)
    names_arg = _param(args, "name")
    if names_arg is None and len(args.positional) > 1:
        names_arg = args.positional[1]
    names = [str(n) for n in _as_list(names_arg)] if names_arg is not None else None
    if path is None and _input:
        # Registry keys piped in bind by their PSPath (``Get-ChildItem <key> | Get-ItemProperty``).
        out: list[Any] = []
        for item in _input:
            item_path = item.get("PSPath") if isinstance(item, PSObject) else _to_string(item)
            if not item_path:
                continue
            sub = _Args(named={"literalpath": item_path, **({"name": names} if names else {})})
            out.extend(_get_item_property(state, sub, None))
        return out
    if path is None:
        return []
    if not _registry_path(path):
        # File-system properties are not modelled (read-only subset).
        raise _Unsupported("Get-ItemProperty", f"Get-ItemProperty {path}")
    try:
        canon = _reg_key(state, path)
    except ValueError:
        _not_found(state, "Get-ItemProperty", path, "GetItemPropertyCommand")
        return []
    with state.host.lock:
        if not state.host.registry.key_exists(canon):
            _not_found(state, "Get-ItemProperty", _hive_display(canon), "GetItemPropertyCommand")
            return []
        obj = _item_property_object(state, canon, names)
    return [obj] if obj is not None else []


def _get_item_property_value(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    objs = _get_item_property(state, args, _input)
    names_arg = _param(args, "name")
    if names_arg is None and len(args.positional) > 1:
        names_arg = args.positional[1]
    out: list[Any] = []
    for obj in objs:
        for n in _as_list(names_arg):
            out.append(obj.get(str(n)))
    return out


def _get_item(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    path, _literal = _path_arg(state, args)
    if path is None:
        return []
    if _registry_path(path):
        try:
            canon = _reg_key(state, path)
        except ValueError:
            _not_found(state, "Get-Item", path, "GetItemCommand")
            return []
        with state.host.lock:
            if not state.host.registry.key_exists(canon):
                _not_found(state, "Get-Item", _hive_display(canon), "GetItemCommand")
                return []
            key = state.host.registry.get_key(canon)
            names = [v.name for v in key.values.values()]
            subkeys = len(state.host.registry.subkeys(canon))
        display = _hive_display(key.path)
        return [
            PSObject(
                "Microsoft.Win32.RegistryKey",
                {
                    "Name": display,
                    "Property": names,
                    "SubKeyCount": subkeys,
                    "ValueCount": len(names),
                    "PSChildName": display.rsplit("\\", 1)[-1],
                    "PSPath": f"Microsoft.PowerShell.Core\\Registry::{display}",
                },
                view=["Name", "Property"],
                table=True,
            )
        ]
    try:
        canon = _fs_path(state, path)
    except ValueError:
        _not_found(state, "Get-Item", path, "GetItemCommand")
        return []
    with state.host.lock:
        if not state.host.fs.exists(canon):
            _not_found(state, "Get-Item", canon, "GetItemCommand")
            return []
        entry = state.host.fs.entry(canon)
    props: dict[str, Any] = {
        "Name": entry.path.rsplit("\\", 1)[-1] or entry.path,
        "FullName": entry.path,
        "PSIsContainer": entry.is_dir,
    }
    if not entry.is_dir:
        props["Length"] = entry.size
    return [
        PSObject(
            "System.IO.DirectoryInfo" if entry.is_dir else "System.IO.FileInfo",
            props,
            view=["Name", "Length"] if not entry.is_dir else ["Name"],
            table=True,
        )
    ]


def _get_child_item(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    """Children of a directory (file system) or subkeys of a registry key; ``-Name`` gives names."""
    path, _literal = _path_arg(state, args)
    path = path or state.cwd or "C:\\"
    names_only = bool(_param(args, "name"))
    if _registry_path(path):
        try:
            canon = _reg_key(state, path)
        except ValueError:
            _not_found(state, "Get-ChildItem", path, "GetChildItemCommand")
            return []
        with state.host.lock:
            if not state.host.registry.key_exists(canon):
                _not_found(state, "Get-ChildItem", _hive_display(canon), "GetChildItemCommand")
                return []
            subs = state.host.registry.subkeys(canon)
        display = _hive_display(state.host.registry.get_key(canon).path)
        if names_only:
            return list(subs)
        return [
            PSObject(
                "Microsoft.Win32.RegistryKey",
                {
                    "Name": f"{display}\\{n}",
                    "PSChildName": n,
                    "PSPath": f"Microsoft.PowerShell.Core\\Registry::{display}\\{n}",
                },
                view=["Name"],
                table=True,
            )
            for n in subs
        ]
    try:
        canon = _fs_path(state, path)
    except ValueError:
        _not_found(state, "Get-ChildItem", path, "GetChildItemCommand")
        return []
    with state.host.lock:
        fs = state.host.fs
        if not fs.exists(canon):
            _not_found(state, "Get-ChildItem", canon, "GetChildItemCommand")
            return []
        if fs.is_dir(canon):
            names = sorted(
                fs.listdir(canon), key=lambda n: (not fs.is_dir(canon.rstrip("\\") + "\\" + n), n.lower())
            )
            entries = [fs.entry(canon.rstrip("\\") + "\\" + n) for n in names]
        else:
            entries = [fs.entry(canon)]
    if names_only:
        return [e.path.rsplit("\\", 1)[-1] for e in entries]
    out: list[Any] = []
    for e in entries:
        props: dict[str, Any] = {
            "Name": e.path.rsplit("\\", 1)[-1],
            "FullName": e.path,
            "PSIsContainer": e.is_dir,
        }
        if not e.is_dir:
            props["Length"] = e.size
        out.append(
            PSObject(
                "System.IO.DirectoryInfo" if e.is_dir else "System.IO.FileInfo",
                props,
                view=["Name", "Length"],
                table=True,
            )
        )
    return out


# --- local accounts (Microsoft.PowerShell.LocalAccounts, PS 5.1 on Windows 10 / Server 2016+) ---


def _sid_object(sid: str) -> PSObject:
    return PSObject(
        "System.Security.Principal.SecurityIdentifier",
        {"BinaryLength": 28, "AccountDomainSid": sid.rsplit("-", 1)[0], "Value": sid},
        text=sid,
    )


def _get_local_user(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    names_arg = _param(args, "name")
    if names_arg is None and args.positional:
        names_arg = args.positional[0]
    users = sorted(state.host.users.users.values(), key=lambda u: u.name.lower())
    patterns = [str(n) for n in _as_list(names_arg)] if names_arg is not None else ["*"]
    out: list[Any] = []
    for pattern in patterns:
        matched = [u for u in users if fnmatch.fnmatch(u.name.lower(), pattern.lower())]
        if not matched and not _has_wild(pattern):
            _error(
                state,
                "Get-LocalUser",
                f"User {pattern} was not found.",
                category="ObjectNotFound",
                error_id="UserNotFound,Microsoft.PowerShell.Commands.GetLocalUserCommand",
                target=pattern,
            )
        for u in matched:
            out.append(
                PSObject(
                    "Microsoft.PowerShell.Commands.LocalUser",
                    {
                        "Name": u.name,
                        "Enabled": u.enabled,
                        "FullName": u.full_name,
                        "Description": "",
                        "SID": _sid_object(u.sid),
                        "PrincipalSource": PSEnum("Local", 1),
                    },
                    view=["Name", "Enabled", "Description"],
                    table=True,
                    text=u.name,
                )
            )
    return out


def _get_local_group_member(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    group_arg = _param(args, "group", "name")
    if group_arg is None and args.positional:
        group_arg = args.positional[0]
    name = _to_string(group_arg)
    g = state.host.users.group(name)
    if g is None:
        _error(
            state,
            "Get-LocalGroupMember",
            f"Group {name} was not found.",
            category="ObjectNotFound",
            error_id="GroupNotFound,Microsoft.PowerShell.Commands.GetLocalGroupMemberCommand",
            target=name,
        )
        return []
    out: list[Any] = []
    for m in g.members:
        u = state.host.users.get(m)
        full = f"{state.host.os.computer_name}\\{u.name if u else m}"
        out.append(
            PSObject(
                "Microsoft.PowerShell.Commands.LocalPrincipal",
                {
                    "Name": full,
                    "SID": _sid_object(u.sid if u else ""),
                    "PrincipalSource": PSEnum("Local", 1),
                    "ObjectClass": "User",
                },
                view=["ObjectClass", "Name", "PrincipalSource"],
                table=True,
                text=full,
            )
        )
    return out


# --- Windows features ------------------------------------------------------------------------------

# DismPackageFeatureState numbers (https://learn.microsoft.com/windows-hardware/manufacture/desktop/
# dism/dismpackagefeaturestate-enumeration). Mapping the PowerShell State names onto them
# (Enabled=Installed 4, EnablePending=InstallPending 5, DisablePending=UninstallPending 1,
# DisabledWithPayloadRemoved=Removed 3, Disabled=Staged 2) is an assumption; scripts use
# .ToString() anyway (windows-facts D.1).
_DISM_STATE_NUMBER = {
    "Enabled": 4,
    "EnablePending": 5,
    "DisablePending": 1,
    "DisabledWithPayloadRemoved": 3,
    "Disabled": 2,
}
# Get-WindowsOptionalFeature RestartRequired (windows-facts D.1: Possible, Required, No).
_RESTART_NUMBER = {"No": 0, "Possible": 1, "Required": 2}


def _get_windows_optional_feature(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    if not _param(args, "online"):
        _error(
            state,
            "Get-WindowsOptionalFeature",
            "The Online or Path parameter is required (winsim models -Online only).",
            category="InvalidArgument",
            error_id="Microsoft.Dism.Commands.GetWindowsOptionalFeatureCommand",
        )
        return []
    try:
        elevated = state.host.token(state.user).elevated
    except Exception:
        elevated = False
    if not elevated:
        # DISM needs the full token (windows-facts A.7 "DISM and Enable-WindowsOptionalFeature need
        # the full token"); the cmdlet fails with "The requested operation requires elevation."
        _error(
            state,
            "Get-WindowsOptionalFeature",
            "The requested operation requires elevation.",
            category="NotSpecified",
            error_id="Microsoft.Dism.Commands.GetWindowsOptionalFeatureCommand",
        )
        return []
    names_arg = _param(args, "featurename")
    names = [str(n) for n in _as_list(names_arg)] if names_arg is not None else []
    feats = state.host.features.all()
    if not names:
        return [
            PSObject(
                "Microsoft.Dism.Commands.BasicFeatureObject",
                {
                    "FeatureName": f.name,
                    "State": PSEnum(f.dism_state, _DISM_STATE_NUMBER.get(f.dism_state, 0)),
                },
                table=False,
            )
            for f in feats
        ]
    out: list[Any] = []
    for n in names:
        # An unknown name returns nothing (windows-facts D.1, WSL#8667).
        for f in feats:
            if fnmatch.fnmatch(f.name.lower(), n.lower()):
                out.append(
                    PSObject(
                        "Microsoft.Dism.Commands.AdvancedFeatureObject",
                        {
                            "FeatureName": f.name,
                            "DisplayName": f.display_name,
                            "Description": f.display_name,
                            "RestartRequired": PSEnum(
                                f.restart_required, _RESTART_NUMBER.get(f.restart_required, 1)
                            ),
                            "State": PSEnum(f.dism_state, _DISM_STATE_NUMBER.get(f.dism_state, 0)),
                            "CustomProperties": [],
                            "Online": True,
                        },
                        view=[
                            "FeatureName",
                            "DisplayName",
                            "Description",
                            "RestartRequired",
                            "State",
                            "CustomProperties",
                        ],
                    )
                )
    return out


# Microsoft.Windows.ServerManager.Commands.InstallState numbers: Available 0, Installed 1,
# InstallPending 2, Removed 3, UninstallPending 4 (assumption; scripts use .ToString()).
_INSTALL_STATE_NUMBER = {
    "Available": 0,
    "Installed": 1,
    "InstallPending": 2,
    "Removed": 3,
    "UninstallPending": 4,
}


def _get_windows_feature(state: _State, args: _Args, _input: list[Any] | None) -> list[Any]:
    if not state.host.os.is_server:
        # ServerManager cmdlets refuse client SKUs.
        _error(
            state,
            "Get-WindowsFeature",
            "The target of the specified cmdlet cannot be a Windows client-based operating system.",
            category="DeviceError",
            target="localhost",
            error_id="UnSupportedTargetDevice,Microsoft.Windows.ServerManager.Commands.GetWindowsFeatureCommand",
        )
        return []
    names_arg = _param(args, "name")
    if names_arg is None and args.positional:
        names_arg = args.positional[0]
    names = [str(n) for n in _as_list(names_arg)] if names_arg is not None else ["*"]
    out: list[Any] = []
    for n in names:
        for f in state.host.features.all():
            if fnmatch.fnmatch(f.name.lower(), n.lower()):
                st = f.server_state
                out.append(
                    PSObject(
                        "Microsoft.Windows.ServerManager.Commands.Feature",
                        {
                            "Name": f.name,
                            "DisplayName": f.display_name,
                            "Installed": st == "Installed",
                            "InstallState": PSEnum(st, _INSTALL_STATE_NUMBER.get(st, 0)),
                            "FeatureType": "Role" if f.name.lower() == "hyper-v" else "Feature",
                        },
                        view=["DisplayName", "Name", "InstallState"],
                        table=True,
                    )
                )
    return out


# --- pipeline cmdlets -----------------------------------------------------------------------------


def _write_output(state: _State, args: _Args, input_objects: list[Any] | None) -> list[Any]:
    values = list(input_objects or [])
    for p in args.positional:
        values.extend(_as_list(p))
    io = _param(args, "inputobject")
    if io is not None:
        values.extend(_as_list(io))
    return values


def _select_object(state: _State, args: _Args, input_objects: list[Any] | None) -> list[Any]:
    items = list(input_objects or [])
    expand = _param(args, "expandproperty")
    props = _param(args, "property")
    if props is None and args.positional:
        props = args.positional[0]
    first = _param(args, "first")
    last = _param(args, "last")
    if first is not None:
        items = items[: int(first)]
    if last is not None:
        items = items[-int(last) :] if int(last) else []
    if expand is not None:
        out: list[Any] = []
        for obj in items:
            value = _property(obj, str(expand))
            if value is _MISSING:
                _error(
                    state,
                    "Select-Object",
                    f'Property "{expand}" cannot be found.',
                    category="InvalidArgument",
                    target=_to_string(obj),
                    error_id="ExpandPropertyNotFound,Microsoft.PowerShell.Commands.SelectObjectCommand",
                )
                continue
            out.extend(_as_list(value) if isinstance(value, list) else [value])
        return out
    if props is not None:
        names = [str(p) for p in _as_list(props)]
        return [
            PSObject(
                "Selected." + (obj.type_name if isinstance(obj, PSObject) else type(obj).__name__),
                {n: (None if _property(obj, n) is _MISSING else _property(obj, n)) for n in names},
            )
            for obj in items
        ]
    return items


_MISSING = object()


def _property(obj: Any, name: str) -> Any:
    if isinstance(obj, PSEnum) and name.lower() == "value__":
        return obj.value
    if isinstance(obj, PSObject):
        return obj.get(name) if obj.has(name) else _MISSING
    if isinstance(obj, str) and name.lower() == "length":
        return len(obj)
    if isinstance(obj, list) and name.lower() in ("count", "length"):
        return len(obj)
    return _MISSING


def _convert_to_json(state: _State, args: _Args, input_objects: list[Any] | None) -> list[Any]:
    items = list(input_objects or [])
    io = _param(args, "inputobject")
    if io is not None:
        items = [io]
    if not items:
        return []
    depth = int(_param(args, "depth") or 2)  # ConvertTo-Json's default -Depth is 2
    value: Any = items[0] if len(items) == 1 else items
    plain = _jsonable(value)
    if _param(args, "compress"):
        return [psoutput.convert_to_json(plain, depth)]
    return [_pretty_json(plain, depth, 0)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, PSEnum):
        return value.value
    if isinstance(value, PSObject):
        return {k: _jsonable(v) for k, v in value.props.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _pretty_json(value: Any, depth: int, level: int) -> str:
    """ConvertTo-Json without -Compress in Windows PowerShell 5.1: four-space indentation and
    ``"name":  value`` with two spaces after the colon (JavaScriptSerializer output reformatted by
    the cmdlet; seen in PS 5.1 outputs, e.g. PowerShell/PowerShell#2736)."""
    pad = "    " * (level + 1)
    end = "    " * level
    if isinstance(value, dict):
        if depth < 0:
            return psoutput.convert_to_json("System.Collections.Hashtable")
        if not value:
            return "{\r\n\r\n" + end + "}"
        items = [
            f"{pad}{psoutput.convert_to_json(str(k))}:  {_pretty_json(v, depth - 1, level + 1)}"
            for k, v in value.items()
        ]
        return "{\r\n" + ",\r\n".join(items) + "\r\n" + end + "}"
    if isinstance(value, list):
        if depth < 0:
            return psoutput.convert_to_json("System.Object[]")
        if not value:
            return "[\r\n\r\n" + end + "]"
        items = [pad + _pretty_json(v, depth - 1, level + 1) for v in value]
        return "[\r\n" + ",\r\n".join(items) + "\r\n" + end + "]"
    return psoutput.convert_to_json(value)


def _where_object(state: _State, args: _Args, input_objects: list[Any] | None) -> list[Any]:
    """``Where-Object { <test> }`` or the simplified ``Where-Object <Property> -eq <value>``
    (about_Where-Object, "comparison statement" syntax)."""
    items = list(input_objects or [])
    block = next((p for p in args.positional if isinstance(p, _ScriptBlock)), None)
    block = block or (
        _param(args, "filterscript") if isinstance(_param(args, "filterscript"), _ScriptBlock) else None
    )
    if block is not None:
        return [item for item in items if _is_true(block.run(state, item))]
    prop = _param(args, "property")
    if prop is None and args.positional:
        prop = args.positional[0]
    if prop is None:
        raise _Unsupported("Where-Object", "Where-Object")
    ops = {k: v for k, v in args.named.items() if k not in ("property", "erroraction")}

    def test(item: Any) -> bool:
        value = _property(item, str(prop))
        value = None if value is _MISSING else value
        if not ops:
            return _is_true(value)
        op, want = next(iter(ops.items()))
        left = _to_string(value).lower()
        right = _to_string(want).lower()
        if op in ("eq", "ieq", "ceq"):
            return left == right if op != "ceq" else _to_string(value) == _to_string(want)
        if op in ("ne", "ine"):
            return left != right
        if op in ("like", "ilike"):
            return fnmatch.fnmatch(left, right)
        if op in ("notlike", "inotlike"):
            return not fnmatch.fnmatch(left, right)
        if op in ("match", "imatch"):
            return re.search(right, left) is not None
        raise _Unsupported("Where-Object", f"Where-Object {prop} -{op}")

    return [item for item in items if test(item)]


def _foreach_object(state: _State, args: _Args, input_objects: list[Any] | None) -> list[Any]:
    """``ForEach-Object { ... }`` with ``$_``, or ``ForEach-Object <MemberName>``."""
    items = list(input_objects or [])
    block = next((p for p in args.positional if isinstance(p, _ScriptBlock)), None)
    block = block or (_param(args, "process") if isinstance(_param(args, "process"), _ScriptBlock) else None)
    out: list[Any] = []
    if block is not None:
        for item in items:
            out.extend(block.run(state, item))
        return out
    member = _param(args, "membername")
    if member is None and args.positional:
        member = args.positional[0]
    if member is None:
        raise _Unsupported("ForEach-Object", "ForEach-Object")
    for item in items:
        value = _property(item, str(member))
        if value is not _MISSING:
            out.extend(value if isinstance(value, list) else [value])
    return out


def _out_string(state: _State, args: _Args, input_objects: list[Any] | None) -> list[Any]:
    text = _format_output(list(input_objects or []))
    if _param(args, "stream"):
        return [ln for ln in text.split(CRLF) if ln]
    return [text]


# Switch parameters per cmdlet (lower case), so "-Raw" takes no value.
_COMMON_SWITCHES = {"verbose", "debug"}
_CMDLETS: dict[str, tuple[Callable[[_State, _Args, list[Any] | None], list[Any]], set[str]]] = {
    "get-service": (_get_service, {"dependentservices", "requiredservices"} | _COMMON_SWITCHES),
    "test-path": (_test_path, {"isvalid"} | _COMMON_SWITCHES),
    "get-content": (_get_content, {"raw", "force", "wait"} | _COMMON_SWITCHES),
    "get-item": (_get_item, {"force"} | _COMMON_SWITCHES),
    "get-childitem": (_get_child_item, {"force", "name", "recurse", "directory", "file"} | _COMMON_SWITCHES),
    "get-itemproperty": (_get_item_property, _COMMON_SWITCHES),
    "get-itempropertyvalue": (_get_item_property_value, _COMMON_SWITCHES),
    "get-windowsoptionalfeature": (_get_windows_optional_feature, {"online"} | _COMMON_SWITCHES),
    "get-windowsfeature": (_get_windows_feature, _COMMON_SWITCHES),
    "get-localuser": (_get_local_user, _COMMON_SWITCHES),
    "get-localgroupmember": (_get_local_group_member, _COMMON_SWITCHES),
    "write-output": (_write_output, {"noenumerate"} | _COMMON_SWITCHES),
    "select-object": (_select_object, {"unique"} | _COMMON_SWITCHES),
    "convertto-json": (_convert_to_json, {"compress"} | _COMMON_SWITCHES),
    "out-string": (_out_string, {"stream"} | _COMMON_SWITCHES),
    "where-object": (_where_object, _COMMON_SWITCHES),
    "foreach-object": (_foreach_object, _COMMON_SWITCHES),
}
_ALIASES = {
    "gsv": "get-service",
    "gc": "get-content",
    "cat": "get-content",
    "type": "get-content",
    "gi": "get-item",
    "gci": "get-childitem",
    "dir": "get-childitem",
    "ls": "get-childitem",
    "gp": "get-itemproperty",
    "gpv": "get-itempropertyvalue",
    "echo": "write-output",
    "write": "write-output",
    "select": "select-object",
    "where": "where-object",
    "?": "where-object",
    "foreach": "foreach-object",
    "%": "foreach-object",
}


# =============================================================================================
# Output formatting (Out-Default)
# =============================================================================================


def _format_output(objects: list[Any]) -> str:
    """Text for objects reaching the end of a top-level pipeline (Out-Default). Strings print as
    is; objects use a table (their default view) or list layout. Layout widths approximate
    PowerShell's; parse JSON (ConvertTo-Json) rather than this text."""
    if not objects:
        return ""
    out: list[str] = []
    i = 0
    while i < len(objects):
        obj = objects[i]
        if isinstance(obj, PSObject):
            j = i
            while (
                j < len(objects)
                and isinstance(objects[j], PSObject)
                and objects[j].type_name == obj.type_name
            ):
                j += 1
            group = objects[i:j]
            out.append(_format_table(group) if obj.table else _format_list(group))
            i = j
            continue
        out.append(_to_string(obj) + CRLF)
        i += 1
    return "".join(out)


def _view(obj: PSObject) -> list[str]:
    return obj.view if obj.view is not None else list(obj.props)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "{" + ", ".join(_to_string(v) for v in value) + "}"
    return _to_string(value)


def _format_table(group: list[PSObject]) -> str:
    cols = _view(group[0])
    rows = [[_cell(o.get(c)) for c in cols] for o in group]
    widths = [max(len(c), *(len(r[k]) for r in rows)) for k, c in enumerate(cols)]
    lines = ["", " ".join(c.ljust(widths[k]) for k, c in enumerate(cols)).rstrip()]
    lines.append(" ".join(("-" * len(c)).ljust(widths[k]) for k, c in enumerate(cols)).rstrip())
    for r in rows:
        lines.append(" ".join(v.ljust(widths[k]) for k, v in enumerate(r)).rstrip())
    lines += ["", ""]
    return CRLF.join(lines)


def _format_list(group: list[PSObject]) -> str:
    blocks = []
    for o in group:
        cols = _view(o)
        width = max(len(c) for c in cols) if cols else 0
        blocks.append(CRLF.join(f"{c.ljust(width)} : {_cell(o.get(c))}".rstrip() for c in cols))
    return CRLF + (CRLF + CRLF).join(blocks) + CRLF + CRLF + CRLF


# =============================================================================================
# Native programs: wsl.exe and docker.exe
# =============================================================================================

_NATIVE_NAMES = {
    "wsl": "wsl",
    "docker": "docker",
    "systeminfo": "systeminfo",
    "findstr": "findstr",
    "net": "net",
}


def _cmd_line_native(script: str) -> tuple[str, list[str]] | None:
    """A one-line cmd.exe command starting with a quoted path to a supported program (not
    PowerShell syntax: PowerShell needs ``&`` before a quoted path)."""
    stripped = script.strip()
    if "\n" in stripped or not stripped.startswith('"'):
        return None
    token, rest = first_token(stripped)
    kind = _NATIVE_NAMES.get(program_name(token))
    if kind is None:
        return None
    return f"{kind}|{token}", split_args(rest)


def _native_kind(state: _State, written: str) -> str | None:
    base = program_name(written)
    kind = _NATIVE_NAMES.get(base)
    if kind is None:
        return None
    return f"{kind}|{written}"


def _run_native(state: _State, kind_and_path: str, argv: list[str], lines_in: list[str] | None) -> _Native:
    kind, written = kind_and_path.split("|", 1)
    if kind == "wsl":
        return _wsl(state, written, argv)
    if kind == "systeminfo":
        return _systeminfo(state, written, argv)
    if kind == "findstr":
        return _findstr(state, written, argv, lines_in or [])
    if kind == "net":
        return _net(state, written, argv)
    return _docker(state, written, argv)


# --- systeminfo.exe, findstr.exe, net.exe (what testinfra's Windows modules run) -----------------


def _systeminfo(state: _State, written: str, argv: list[str]) -> _Native:
    """``systeminfo`` in en-US layout: labels padded to 27 columns. testinfra reads "OS Name" and
    "OS Version" (testinfra/modules/systeminfo.py); the "Hyper-V Requirements" block follows
    windows-facts D.5 (four Yes/No lines, or the hypervisor-detected sentence)."""
    if argv:
        raise _Unsupported(written, " ".join([written, *argv]))
    host = state.host
    o, hw = host.os, host.hardware
    import datetime as _dt

    boot = _dt.datetime.fromtimestamp(host.boot.last_boot)
    boot_text = f"{boot.month}/{boot.day}/{boot.year}, {boot.strftime('%I:%M:%S %p').lstrip('0')}"

    def yn(flag: bool) -> str:
        return "Yes" if flag else "No"

    rows = [
        ("Host Name", o.computer_name),
        ("OS Name", o.caption),
        ("OS Version", f"{o.version}.{o.build} N/A Build {o.build}"),
        ("OS Manufacturer", "Microsoft Corporation"),
        ("OS Configuration", "Standalone Server" if o.is_server else "Standalone Workstation"),
        ("OS Build Type", "Multiprocessor Free"),
        ("System Boot Time", boot_text),
        ("System Manufacturer", hw.manufacturer),
        ("System Model", hw.model),
        ("System Type", "x64-based PC"),
        ("Total Physical Memory", f"{hw.memory_mb:,} MB"),
    ]
    lines = [""] + [f"{(label + ':').ljust(27)}{value}" for label, value in rows]
    if hw.hypervisor_present:
        lines.append(
            "Hyper-V Requirements:      A hypervisor has been detected. "
            "Features required for Hyper-V will not be displayed."
        )
    else:
        lines.append(
            f"Hyper-V Requirements:      VM Monitor Mode Extensions: {yn(hw.vm_monitor_mode_extensions)}"
        )
        lines.append(
            f"{'':27}Virtualization Enabled In Firmware: {yn(hw.reported_virtualization_firmware_enabled())}"
        )
        lines.append(f"{'':27}Second Level Address Translation: {yn(hw.slat)}")
        lines.append(f"{'':27}Data Execution Prevention Available: {yn(hw.dep)}")
    return _Native(CRLF.join(lines) + CRLF, 0)


def _findstr(state: _State, written: str, argv: list[str], lines_in: list[str]) -> _Native:
    """``findstr`` over piped lines with /B /E /I /V and /C:"literal" or space-separated literal
    words (https://learn.microsoft.com/windows-server/administration/windows-commands/findstr).
    Exit 0 when a line matched, 1 otherwise. Regular-expression mode is not modelled."""
    begin = end = ignore = invert = False
    needles: list[str] = []
    for a in argv:
        low = a.lower()
        if low.startswith("/c:"):
            needles.append(a[3:])
        elif low in ("/b", "/e", "/i", "/v", "/l"):
            begin |= low == "/b"
            end |= low == "/e"
            ignore |= low == "/i"
            invert |= low == "/v"
        elif low.startswith("/"):
            raise _Unsupported(written, " ".join([written, *argv]))
        else:
            needles.extend(a.split())
    if not needles:
        return _Native("", 2, b"FINDSTR: Bad command line\r\n")

    def matches(line: str) -> bool:
        hay = line.lower() if ignore else line
        for n in needles:
            n = n.lower() if ignore else n
            if (
                (begin and hay.startswith(n))
                or (end and hay.endswith(n))
                or (not begin and not end and n in hay)
            ):
                return True
        return False

    picked = [ln for ln in lines_in if matches(ln) != invert]
    return _Native("".join(ln + CRLF for ln in picked), 0 if picked else 1)


def _net(state: _State, written: str, argv: list[str]) -> _Native:
    """``net user <name>`` and ``net localgroup <name>`` (read-only forms; testinfra's WindowsUser
    runs ``net user``). Unknown names: "The user name could not be found." / NET HELPMSG 2221,
    exit 2 (the NET HELPMSG 2221 text). Assumption (unsourced): the exit code 2 (net.exe's usual
    error level) and the label widths."""
    args = [a for a in argv if a]
    users = state.host.users
    if len(args) == 2 and args[0].lower() == "user":
        u = users.get(args[1])
        if u is None:
            return _Native(
                "",
                2,
                b"The user name could not be found.\r\n\r\n"
                b"More help is available by typing NET HELPMSG 2221.\r\n\r\n",
            )
        groups = users.groups_of(u.name)
        rows = [
            ("User name", u.name),
            ("Full Name", u.full_name),
            ("Comment", ""),
            ("Account active", "Yes" if u.enabled else "No"),
            ("Local Group Memberships", "".join(("*" + g).ljust(22) for g in groups).rstrip() or "*None"),
            ("Global Group memberships", "*None"),
        ]
        lines = [f"{label.ljust(29)}{value}".rstrip() for label, value in rows]
        lines += ["The command completed successfully.", ""]
        return _Native(CRLF.join(lines) + CRLF, 0)
    if len(args) == 2 and args[0].lower() == "localgroup":
        g = users.group(args[1])
        if g is None:
            return _Native(
                "",
                2,
                b"The specified local group does not exist.\r\n\r\n"
                b"More help is available by typing NET HELPMSG 3780.\r\n\r\n",
            )
        lines = [
            f"{'Alias name'.ljust(15)}{g.name}",
            f"{'Comment'.ljust(15)}{g.description}".rstrip(),
            "",
            "Members",
            "",
        ]
        lines.append("-" * 79)
        lines += list(g.members)
        lines += ["The command completed successfully.", ""]
        return _Native(CRLF.join(lines) + CRLF, 0)
    raise _Unsupported(written, " ".join([written, *argv]))


# --- wsl.exe ---------------------------------------------------------------------------------------


def _wsl_available(state: _State, written: str) -> bool:
    """Whether the named wsl.exe exists: the package installs ``C:\\Program Files\\WSL\\wsl.exe``;
    ``System32\\wsl.exe`` is the inbox stub, present for inbox and package (windows-facts A.3, A.7)."""
    kind = state.host.wsl.package.kind
    if kind == "absent":
        return False
    if "\\" in written or "/" in written:
        try:
            path = normalize_path(written if written.lower().endswith(".exe") else written + ".exe")
        except ValueError:
            return False
        if path.lower() == wslmodel.PACKAGE_WSL_EXE.lower():
            return kind == "package"
        return path.lower() == wslmodel.INBOX_WSL_EXE.lower()
    return True


def _wsl_encode(state: _State, text: str) -> bytes:
    """wsl.exe writes UTF-16LE without BOM unless WSL_UTF8 is exactly "1" (windows-facts A.4;
    microsoft/WSL WslClient.cpp ``getenv("WSL_UTF8")`` / ``strcmp(encoding, "1")``). Inbox WSL
    ignores the variable (A.4). Lines end in CR LF (CRT text mode)."""
    text = text.replace("\r\n", "\n").replace("\n", CRLF)
    utf8 = state.env.get("WSL_UTF8") == "1" and state.host.wsl.package.kind == "package"
    return text.encode("utf-8" if utf8 else "utf-16-le")


def _wsl_fail(state: _State, message: str) -> _Native:
    # Errors go to stdout and the exit code is -1 (windows-facts A.2).
    return _Native(_wsl_encode(state, message + "\n"), -1)


def _wsl(state: _State, written: str, argv: list[str]) -> _Native:
    if not _wsl_available(state, written):
        raise _Unsupported(written, " ".join([written, *argv]))
    host = state.host
    first = argv[0] if argv else ""
    if first in ("-l", "--list"):
        return _wsl_list(state, argv[1:])
    if first in ("-v", "--version"):
        if host.wsl.package.kind != "package":
            # Inbox WSL rejects --version (windows-facts A.1, F.3).
            return _wsl_fail(state, "Invalid command line option: --version")
        # windows-facts F.3: seven lines; MessagePackageVersions.
        pkg = host.wsl.package
        lines = [
            f"WSL version: {pkg.version or '2.0.0.0'}",
            f"Kernel version: {pkg.kernel_version or '5.15.153.1-2'}",
            "WSLg version: 1.0.65",
            "MSRDC version: 1.2.5620",
            "Direct3D version: 1.611.1-81528511",
            "DXCore version: 10.0.26100.1-240331-1435.ge-release",
            f"Windows version: {host.os.full_version}",
        ]
        return _Native(_wsl_encode(state, "\n".join(lines) + "\n"), 0)
    if first == "--status":
        distros = _visible_distros(state)
        out = []
        default = next((d for d in distros if d.is_default), None)
        if default is not None:
            out.append(f"Default Distribution: {default.name}")
        out.append(f"Default Version: {_default_version(state)}")
        if host.services.get("vmcompute") is None:
            # MessageEnableVirtualization (windows-facts F.8), printed when vmcompute is absent
            # (microsoft/WSL WslClient.cpp Status()).
            out.append("")
            out.append("WSL2 is unable to start since virtualization is not enabled on this machine.")
            out.append(
                'Please ensure the "Virtual Machine Platform" optional component is enabled and '
                "virtualization is turned on in your computer's firmware settings."
            )
        return _Native(_wsl_encode(state, "\n".join(out) + "\n"), 0)
    # Anything else (running a distro, export, ...) is a state change: not in the read-only set.
    raise _Unsupported(written, " ".join([written, *argv]))


def _default_version(state: _State) -> int:
    u = state.host.users.get(state.user)
    if u is None:
        return 2
    value = state.host.registry.get(wslmodel.lxss_path(u.sid), "DefaultVersion", 2)
    return int(value) if value in (1, 2) else 2


def _visible_distros(state: _State) -> list[wslmodel.WslDistro]:
    # Registrations are per user (windows-facts A.5, A.7): the caller's Lxss key.
    with state.host.lock:
        return wslmodel.list_distributions(state.host, state.user)


# The whole WSL_E_DEFAULT_DISTRO_NOT_FOUND text: windows-facts A.2 quotes its first two lines; the
# instructions "below" follow (`wsl -l`, WSL 2.4.11: https://github.com/MicrosoftDocs/WSL/issues/2137;
# WSL 2.2.4: https://github.com/microsoft/WSL/issues/11881).
_NO_DISTROS = (
    "Windows Subsystem for Linux has no installed distributions.\n"
    "You can resolve this by installing a distribution with the instructions below:\n"
    "\n"
    "Use 'wsl.exe --list --online' to list available distributions\n"
    "and 'wsl.exe --install <Distro>' to install.\n"
)


def _wsl_list(state: _State, flags: list[str]) -> _Native:
    verbose = any(f in ("-v", "--verbose") for f in flags)
    quiet = any(f in ("-q", "--quiet") for f in flags)
    running_only = "--running" in flags
    show_all = "--all" in flags
    unknown = [f for f in flags if f not in ("-v", "--verbose", "-q", "--quiet", "--running", "--all")]
    if unknown or (quiet and verbose) or (show_all and running_only):
        # WSL_E_INVALID_USAGE (ListDistributionsHelper); its usage text is not modelled.
        return _wsl_fail(state, f"Invalid command line argument: {(unknown or flags)[0]}")
    u = state.host.users.get(state.user)
    runtime = state.host.wsl.runtime_for(u.name if u else state.user)
    distros = _visible_distros(state)

    def state_name(d: wslmodel.WslDistro) -> str:
        if d.name in runtime.running_distros:
            return "Running"
        return {3: "Installing", 4: "Uninstalling", 5: "Converting", 6: "Exporting"}.get(d.state, "Stopped")

    if verbose:
        if not distros:
            # WSL_E_DEFAULT_DISTRO_NOT_FOUND; printed without an "Error code:" line
            # (WslClient.cpp Main) and exit -1 (windows-facts A.2). Note: captures from WSL 1.x/2.2
            # (microsoft/WSL#9338, #11881) do end with "Error code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND";
            # the model's wsl.exe (models/wsl.py E_NO_DISTROS) prints it. Parse neither.
            return _wsl_fail(state, _NO_DISTROS)
        # Format "%s %-<maxLen+4>s%-16s%s\n" (windows-facts A.3).
        width = max(len("NAME"), *(len(d.name) for d in distros)) + 4
        lines = [f"  {'NAME'.ljust(width)}{'STATE'.ljust(16)}VERSION"]
        for d in distros:
            mark = "*" if d.is_default else " "
            lines.append(f"{mark} {d.name.ljust(width)}{state_name(d).ljust(16)}{d.wsl_version}")
        return _Native(_wsl_encode(state, "\n".join(lines) + "\n"), 0)
    if running_only:
        distros = [d for d in distros if state_name(d) == "Running"]
        if not quiet and not distros:
            return _wsl_fail(state, "There are no running distributions.")
    if not show_all:
        distros = [d for d in distros if d.state not in (3, 4, 5, 6)]
    if quiet:
        # Names only, default first; nothing and exit 0 when there are none (ListDistributionsHelper).
        return _Native(_wsl_encode(state, "".join(d.name + "\n" for d in distros)), 0)
    if not distros:
        return _wsl_fail(state, _NO_DISTROS)
    # Localized header and "(Default)" marker (windows-facts A.3, F.2; en-US text).
    lines = ["Windows Subsystem for Linux Distributions:"]
    lines += [f"{d.name} (Default)" if d.is_default else d.name for d in distros]
    return _Native(_wsl_encode(state, "\n".join(lines) + "\n"), 0)


# --- docker.exe -------------------------------------------------------------------------------------

# Docker Engine release -> API version (https://docs.docker.com/reference/api/engine/#api-version-matrix).
_API_VERSIONS = [
    ((28, 0), "1.48"),
    ((27, 2), "1.47"),
    ((27, 0), "1.46"),
    ((26, 1), "1.45"),
    ((26, 0), "1.45"),
    ((25, 0), "1.44"),
    ((24, 0), "1.43"),
    ((23, 0), "1.42"),
    ((20, 10), "1.41"),
]


def _api_version(version: str) -> str:
    nums = tuple(int(x) for x in re.findall(r"\d+", version)[:2]) or (0, 0)
    for floor, api in _API_VERSIONS:
        if nums >= floor:
            return api
    return "1.40"


def _docker_cli(state: _State, written: str) -> str | None:
    """The docker.exe that would run: a file named docker.exe on PATH (or at the written path).
    Docker Desktop puts ``<install dir>\\resources\\bin`` on PATH; the static engine zip is expanded
    into ``C:\\Program Files\\Docker`` which must be on PATH (windows-facts C.2)."""
    fs = state.host.fs
    if "\\" in written or "/" in written:
        try:
            p = normalize_path(written if written.lower().endswith(".exe") else written + ".exe")
        except ValueError:
            return None
        return p if fs.is_file(p) else None
    path = state.env.get("PATH") or state.env.get("Path") or state.host.machine_path()
    for d in path.split(";"):
        d = d.strip()
        if not d:
            continue
        try:
            candidate = normalize_path(d.rstrip("\\") + "\\docker.exe")
        except ValueError:
            continue
        if fs.is_file(candidate):
            return candidate
    return None


def _daemon_group(state: _State) -> str | None:
    """The ``group`` option of daemon.json (windows-facts C.4: extra group allowed on the pipe)."""
    from winfra.sim.models.docker import DAEMON_JSON

    try:
        data = json.loads(_decode_file(state.host.fs.read_bytes(DAEMON_JSON)))
    except (OSError, ValueError):
        return None
    group = data.get("group") if isinstance(data, dict) else None
    return str(group) if group else None


def _pipe_error(pipe: str, api: str, reason: str, *, not_running: bool = False) -> str:
    """The docker CLI's connection error on Windows (named pipe client; message shape of
    docker/cli ``client.ErrorConnectionFailed`` as seen in docker/for-win issues, assumption)."""
    prefix = "error during connect: "
    if not_running:
        prefix += "this error may indicate that the docker daemon is not running: "
    return f'{prefix}Get "http://%2F%2F.%2Fpipe%2F{pipe}/v{api}/version": open //./pipe/{pipe}: {reason}'


def _docker(state: _State, written: str, argv: list[str]) -> _Native:
    host = state.host
    with host.lock:
        cli = _docker_cli(state, written)
    if cli is None:
        raise _Unsupported(written, " ".join([written, *argv]))
    if not argv or argv[0] != "version":
        raise _Unsupported(written, " ".join([written, *argv]))
    fmt = None
    rest = argv[1:]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--format", "-f") and i + 1 < len(rest):
            fmt = rest[i + 1]
            i += 2
            continue
        if a.startswith("--format="):
            fmt = a.split("=", 1)[1]
        i += 1
    desktop = host.docker.desktop
    engine = host.docker.engine
    svc = host.services.get(engine.service_name)
    # The CLI version follows the engine binaries; Docker Desktop's bundled CLI version is not
    # modelled separately (27.3.1 ships with Desktop 4.36: docker/docs release notes).
    client_version = engine.version or "27.3.1"
    client = {
        "Platform": {"Name": ""},
        "Version": client_version,
        "ApiVersion": _api_version(client_version),
        "DefaultAPIVersion": _api_version(client_version),
        "GitCommit": "ce12230",
        "GoVersion": "go1.22.7",
        "Os": "windows",
        "Arch": "amd64",
        "BuildTime": "Fri Sep 20 11:42:27 2024",
        "Context": "desktop-linux" if desktop.installed_version else "default",
    }
    server: dict[str, Any] | None = None
    error: str | None = None
    pipe = "docker_engine"
    token = host.token(state.user) if host.users.get(state.user) else None
    if svc is not None and svc.state == "Running" and engine.version:
        # The default pipe admits Administrators (full token) and SYSTEM, plus the daemon.json
        # group (windows-facts C.4).
        group = _daemon_group(state)
        allowed = bool(token and token.elevated) or bool(group and host.users.is_member(state.user, group))
        if allowed:
            server = {
                "Platform": {"Name": "Docker Engine - Community"},
                "Components": [
                    {
                        "Name": "Engine",
                        "Version": engine.version,
                        "Details": {
                            "ApiVersion": _api_version(engine.version),
                            "Arch": "amd64",
                            "BuildTime": "Fri Sep 20 11:41:14 2024",
                            "Experimental": "false",
                            "GitCommit": "41ca978",
                            "GoVersion": "go1.22.7",
                            "KernelVersion": f"10.0 {host.os.build} ({host.os.build}.1.amd64fre)",
                            "MinAPIVersion": "1.24",
                            "Os": "windows",
                        },
                    }
                ],
                "Version": engine.version,
                "ApiVersion": _api_version(engine.version),
                "MinAPIVersion": "1.24",
                "GitCommit": "41ca978",
                "GoVersion": "go1.22.7",
                "Os": "windows",
                "Arch": "amd64",
                "KernelVersion": f"10.0 {host.os.build} ({host.os.build}.1.amd64fre)",
                "BuildTime": "Fri Sep 20 11:41:14 2024",
            }
        else:
            error = _pipe_error(pipe, client["ApiVersion"], "Access is denied.")
    elif desktop.installed_version and desktop.running:
        # Docker Desktop's backend pipe is open to docker-users members (windows-facts B.4).
        pipe = "dockerDesktopLinuxEngine"
        if (token and token.elevated) or host.users.is_member(state.user, "docker-users"):
            server = {
                "Platform": {"Name": f"Docker Desktop {desktop.installed_version}"},
                "Components": [
                    {"Name": "Engine", "Version": client_version, "Details": {"Os": desktop.engine_mode}}
                ],
                "Version": client_version,
                "ApiVersion": _api_version(client_version),
                "MinAPIVersion": "1.24",
                "Os": desktop.engine_mode,
                "Arch": "amd64",
            }
        else:
            error = _pipe_error(pipe, client["ApiVersion"], "Access is denied.")
    else:
        if desktop.installed_version:
            pipe = "dockerDesktopLinuxEngine"
        # The daemon is not running: the CLI cannot open the named pipe (default host
        # npipe:////./pipe/docker_engine: windows-facts C.4).
        error = _pipe_error(
            pipe, client["ApiVersion"], "The system cannot find the file specified.", not_running=True
        )
    code = 0 if server is not None else 1
    stderr = (error + CRLF).encode("utf-8") if error else b""
    if fmt is not None:
        if fmt.strip() in ("{{json .}}", "{{ json . }}"):
            doc = {"Client": client, "Server": server}
            text = json.dumps(doc, separators=(",", ":")) + "\n"
        elif fmt.strip() in ("{{.Server.Version}}", "{{ .Server.Version }}"):
            text = (server["Version"] if server else "") + "\n"
        elif fmt.strip() in ("{{.Client.Version}}", "{{ .Client.Version }}"):
            text = client_version + "\n"
        else:
            raise _Unsupported(written, " ".join([written, *argv]))
        return _Native(text.encode("utf-8"), code, stderr)
    # Text layout of `docker version` (windows-facts F.6).
    lines = [
        "Client:",
        f" Version:           {client['Version']}",
        f" API version:       {client['ApiVersion']}",
        f" Go version:        {client['GoVersion']}",
        f" Git commit:        {client['GitCommit']}",
        f" Built:             {client['BuildTime']}",
        " OS/Arch:           windows/amd64",
        f" Context:           {client['Context']}",
    ]
    if server is not None:
        lines += [
            "",
            f"Server: {server['Platform']['Name']}",
            " Engine:",
            f"  Version:          {server['Version']}",
            f"  API version:      {server['ApiVersion']} (minimum version {server['MinAPIVersion']})",
            f"  OS/Arch:          {server['Os']}/amd64",
        ]
    return _Native(("\n".join(lines) + "\n").encode("utf-8"), code, stderr)
