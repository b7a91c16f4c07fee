"""The simulated registry: HKLM plus per-user hives (``HKU\\<SID>``), typed values, volatile keys.

Key paths are written the way PowerShell and reg.exe spell them and are normalised here:
``HKLM:\\SOFTWARE\\X``, ``HKEY_LOCAL_MACHINE\\SOFTWARE\\X``, ``Registry::HKLM\\SOFTWARE\\X`` and
``HKLM\\software\\x`` all name the same key (the registry is case-insensitive and keeps the case
a key was created with; https://learn.microsoft.com/windows/win32/sysinfo/structure-of-the-registry).
``HKCU`` is resolved to ``HKU\\<SID>`` of the user the caller acts for (windows-facts A.5: the Lxss
key is per user, read through the caller's token), so callers pass ``sid=``.

Volatile keys (``REG_OPTION_VOLATILE``) live in memory only and disappear at reboot; LogonUI
recreates ``Winlogon\\AutoLogonChecked`` that way (anchors-and-winrm §1.6), and WSL writes the
volatile ``Lxss\\InstallStatus`` (windows-facts A.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Registry value types (https://learn.microsoft.com/windows/win32/sysinfo/registry-value-types).
REG_SZ = "REG_SZ"
REG_EXPAND_SZ = "REG_EXPAND_SZ"
REG_DWORD = "REG_DWORD"
REG_QWORD = "REG_QWORD"
REG_MULTI_SZ = "REG_MULTI_SZ"
REG_BINARY = "REG_BINARY"
VALUE_KINDS = (REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD, REG_MULTI_SZ, REG_BINARY)

_HIVE_ALIASES = {
    "hklm": "HKLM",
    "hkey_local_machine": "HKLM",
    "hku": "HKU",
    "hkey_users": "HKU",
    "hkcu": "HKCU",
    "hkey_current_user": "HKCU",
    "hkcr": "HKLM\\SOFTWARE\\Classes",
    "hkey_classes_root": "HKLM\\SOFTWARE\\Classes",
}


class RegistryError(KeyError):
    """A key or value does not exist (PowerShell: ItemNotFoundException / PathNotFound)."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


@dataclass
class RegValue:
    name: str
    kind: str
    data: Any  # str | int | list[str] | bytes, by kind

    def to_json(self) -> dict[str, Any]:
        data = self.data.hex() if isinstance(self.data, bytes) else self.data
        return {"name": self.name, "kind": self.kind, "data": data}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RegValue:
        data = raw["data"]
        if raw["kind"] == REG_BINARY and isinstance(data, str):
            data = bytes.fromhex(data)
        return cls(raw["name"], raw["kind"], data)


@dataclass
class RegKey:
    path: str  # canonical path with the case it was created with, e.g. "HKLM\\SOFTWARE\\Foo"
    volatile: bool = False
    values: dict[str, RegValue] = field(default_factory=dict)  # lower-case name -> value


def normalize_key(path: str, sid: str | None = None) -> str:
    """Canonical key path: ``HKLM\\...`` or ``HKU\\<SID>\\...``, no trailing backslash.

    ``HKCU`` needs ``sid`` (the user the caller acts for); raises ValueError otherwise.
    """
    p = path.strip().replace("/", "\\")
    if p.lower().startswith("registry::"):
        p = p[len("registry::") :]
    parts = [x for x in p.split("\\") if x]
    if not parts:
        raise ValueError(f"empty registry path {path!r}")
    hive = parts[0].rstrip(":").lower()
    if hive not in _HIVE_ALIASES:
        raise ValueError(f"unknown registry hive in {path!r}")
    root = _HIVE_ALIASES[hive]
    if root == "HKCU":
        if not sid:
            raise ValueError(f"HKCU path {path!r} needs the user's SID")
        root = f"HKU\\{sid}"
    return "\\".join([root, *parts[1:]])


class Registry:
    """All keys of one host, flat: lower-case canonical path -> :class:`RegKey`.

    Not locked itself: the owning :class:`~winfra.sim.models.host.SimHost` holds the host lock.
    """

    def __init__(self) -> None:
        self._keys: dict[str, RegKey] = {}

    # -- keys -------------------------------------------------------------------------------
    def key_exists(self, path: str, *, sid: str | None = None) -> bool:
        canon = normalize_key(path, sid).lower()
        return canon in ("hklm", "hku") or canon in self._keys

    def create_key(self, path: str, *, sid: str | None = None, volatile: bool = False) -> RegKey:
        """Create ``path`` and its missing parents (like ``New-Item -Force``); return the key."""
        canon = normalize_key(path, sid)
        parts = canon.split("\\")
        key: RegKey | None = None
        # The HKLM and HKU roots exist implicitly; HKU\<SID> (a user's hive) is a real key.
        start = 2
        for i in range(start, len(parts) + 1):
            sub = "\\".join(parts[:i])
            key = self._keys.get(sub.lower())
            if key is None:
                key = RegKey(sub, volatile=volatile)
                self._keys[sub.lower()] = key
        if key is None:  # path is a hive root
            key = self._keys.setdefault(canon.lower(), RegKey(canon))
        return key

    def get_key(self, path: str, *, sid: str | None = None) -> RegKey:
        canon = normalize_key(path, sid)
        try:
            return self._keys[canon.lower()]
        except KeyError:
            raise RegistryError(f"Cannot find path '{canon}' because it does not exist.") from None

    def delete_key(self, path: str, *, sid: str | None = None, recursive: bool = True) -> bool:
        """Delete a key (and its subkeys when ``recursive``). Returns False if it did not exist."""
        canon = normalize_key(path, sid).lower()
        if canon not in self._keys:
            return False
        children = [k for k in self._keys if k.startswith(canon + "\\")]
        if children and not recursive:
            raise RegistryError(f"The key '{canon}' has subkeys and recursion was not requested.")
        for k in [canon, *children]:
            del self._keys[k]
        return True

    def subkeys(self, path: str, *, sid: str | None = None) -> list[str]:
        """Names (not paths) of the direct subkeys, in creation order."""
        canon = normalize_key(path, sid).lower() + "\\"
        out = []
        for low, key in self._keys.items():
            if low.startswith(canon) and "\\" not in low[len(canon) :]:
                out.append(key.path.rsplit("\\", 1)[1])
        return out

    def all_keys(self) -> list[RegKey]:
        return list(self._keys.values())

    # -- values -----------------------------------------------------------------------------
    def get_value(self, path: str, name: str, *, sid: str | None = None) -> RegValue | None:
        key = self._keys.get(normalize_key(path, sid).lower())
        if key is None:
            return None
        return key.values.get(name.lower())

    def get(self, path: str, name: str, default: Any = None, *, sid: str | None = None) -> Any:
        """The data of a value, or ``default`` when the key or value is missing."""
        value = self.get_value(path, name, sid=sid)
        return default if value is None else value.data

    def set_value(
        self, path: str, name: str, data: Any, kind: str = REG_SZ, *, sid: str | None = None
    ) -> RegValue:
        """Create or overwrite a value, creating the key if needed (``Set-ItemProperty`` after
        ``New-Item -Force``). Data is checked against the kind."""
        if kind not in VALUE_KINDS:
            raise ValueError(f"unknown registry value kind {kind!r}")
        data = _check_data(kind, data)
        key = self._keys.get(normalize_key(path, sid).lower()) or self.create_key(path, sid=sid)
        value = RegValue(name, kind, data)
        key.values[name.lower()] = value
        return value

    def delete_value(self, path: str, name: str, *, sid: str | None = None) -> bool:
        key = self._keys.get(normalize_key(path, sid).lower())
        if key is None:
            return False
        return key.values.pop(name.lower(), None) is not None

    def values(self, path: str, *, sid: str | None = None) -> dict[str, RegValue]:
        """Values of a key by their original-case name (raises RegistryError if missing)."""
        return {v.name: v for v in self.get_key(path, sid=sid).values.values()}

    # -- lifecycle --------------------------------------------------------------------------
    def drop_volatile(self) -> list[str]:
        """Forget volatile keys (and anything under them), as a reboot does. Returns their paths."""
        gone = [k.path for k in self._keys.values() if k.volatile]
        for path in gone:
            self.delete_key(path)
        return gone

    def drop_hive(self, sid: str) -> None:
        prefix = f"hku\\{sid.lower()}"
        for k in [k for k in self._keys if k == prefix or k.startswith(prefix + "\\")]:
            del self._keys[k]

    def to_json(self) -> list[dict[str, Any]]:
        # Volatile keys are persisted too: a saved state is a running host, not a powered-off one.
        return [
            {"path": k.path, "volatile": k.volatile, "values": [v.to_json() for v in k.values.values()]}
            for k in self._keys.values()
        ]

    @classmethod
    def from_json(cls, raw: list[dict[str, Any]]) -> Registry:
        reg = cls()
        for item in raw:
            key = RegKey(item["path"], volatile=bool(item.get("volatile")))
            for v in item.get("values", []):
                value = RegValue.from_json(v)
                key.values[value.name.lower()] = value
            reg._keys[key.path.lower()] = key
        return reg


def _check_data(kind: str, data: Any) -> Any:
    if kind in (REG_SZ, REG_EXPAND_SZ):
        if not isinstance(data, str):
            raise TypeError(f"{kind} needs a string, got {type(data).__name__}")
        return data
    if kind in (REG_DWORD, REG_QWORD):
        if isinstance(data, bool) or not isinstance(data, int):
            raise TypeError(f"{kind} needs an integer, got {type(data).__name__}")
        bits = 32 if kind == REG_DWORD else 64
        if not 0 <= data < 2**bits:
            # Negative numbers are stored as their unsigned two's complement, like reg.exe does.
            if -(2 ** (bits - 1)) <= data < 0:
                return data + 2**bits
            raise ValueError(f"{data} does not fit in {kind}")
        return data
    if kind == REG_MULTI_SZ:
        if not isinstance(data, list | tuple) or not all(isinstance(x, str) for x in data):
            raise TypeError("REG_MULTI_SZ needs a list of strings")
        return list(data)
    if not isinstance(data, bytes | bytearray):
        raise TypeError("REG_BINARY needs bytes")
    return bytes(data)
