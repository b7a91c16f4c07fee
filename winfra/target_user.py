"""The *target user*: whose WSL distros, ``.wslconfig`` and Docker Desktop winfra manages.

Distros, ``.wslconfig`` and Docker Desktop's data live in a user's profile and HKCU
(windows-facts A.5, A.7, A.8, B.6), so per-user work names a target user. When that user is not
the WinRM user, every per-user command runs as them through ``winfra.runas`` (pyinfra's
``_su_user``/``_su_password``). Operations call :func:`resolve_target_user`; facts that read a
user's state take the arguments it returns::

    user, su = resolve_target_user(host, user)
    distros = host.get_fact(WslDistros, user=user, **su)
"""

from __future__ import annotations

from typing import Any

from pyinfra.api.command import HiddenValue
from pyinfra.api.exceptions import OperationValueError

from winfra.facts.host import HostState
from winfra.runas import RunAsError, check_target_user


class MaskedPassword(HiddenValue, str):
    """A target user's password as the ``_su_password`` argument.

    pyinfra prints fact and operation arguments from -v up, so the password must print masked
    (a :class:`HiddenValue`); pyinfra also type-checks ``_su_password`` as ``str`` and refuses a
    bare HiddenValue (pyinfra/api/arguments.py), so it is a ``str`` too. The connector unmasks it.
    """

    def __new__(cls, secret: str) -> MaskedPassword:
        return str.__new__(cls, secret)

    def __init__(self, secret: str) -> None:
        HiddenValue.__init__(self, secret)

    def __format__(self, spec: str) -> str:
        # str.__format__ would print the secret in f-strings and str.format().
        return format(str(self.masked_value), spec)


def account_key(name: str) -> str:
    """The account part of ``DOMAIN\\name``, ``.\\name`` or ``name@REALM``, lower case.

    Windows account names are case-insensitive; comparing this part tells whether a user given
    in a deploy is the account a session runs as or a group member Windows lists.
    """
    return name.split("\\")[-1].split("@")[0].lower()


def target_user_arguments(host: Any, user: str | None) -> tuple[str, dict[str, Any]]:
    """``(user, run-as global arguments)`` for per-user work on ``host``.

    ``user`` defaults to host data ``winfra_user``, else the WinRM user (host data ``winrm_user``,
    else who the session runs as according to ``get_host_state``). When it differs from the WinRM
    user the command must run as that user: ``_su_user`` plus ``_su_password`` from host data
    ``winfra_user_password`` (or none: an interactive logon of a logged-on user, see winfra.runas).
    """
    data = host.data
    winrm_user = str(data.get("winrm_user") or "")
    if not winrm_user:
        # No winrm_user in host data (e.g. @winsim picks the profile's administrator): ask the
        # host who the WinRM session runs as (get_host_state's windows.winrm_user, cached).
        windows = (host.get_fact(HostState) or {}).get("windows") or {}
        winrm_user = str(windows.get("winrm_user") or "")
    target = user or data.get("winfra_user") or winrm_user
    if not target:
        raise ValueError(
            f"{host.name}: no target user for WSL: set user=, or host data winfra_user or winrm_user"
        )
    target = str(target)
    if winrm_user and account_key(target) == account_key(winrm_user):
        return target, {}
    args: dict[str, Any] = {"_su_user": target}
    configured = data.get("winfra_user")
    password = data.get("winfra_user_password")
    if password and (not configured or account_key(str(configured)) == account_key(target)):
        # Masked: pyinfra prints fact and operation arguments from -v up (see MaskedPassword).
        secret = password.unmask() if isinstance(password, HiddenValue) else str(password)
        args["_su_password"] = MaskedPassword(secret)
    return target, args


def resolve_target_user(
    host: Any, user: str | None, error: type[OperationValueError] = OperationValueError
) -> tuple[str, dict[str, Any]]:
    """:func:`target_user_arguments` for an operation, with the name checked by ``winfra.runas``.

    A missing or refused user (SYSTEM, a service account, a malformed name) raises ``error``
    naming the host and the setting, before anything runs on the host.
    """
    try:
        name, su = target_user_arguments(host, user)
        check_target_user(name)
    except (ValueError, RunAsError) as exc:
        raise error(f"{host.name}: user={user!r}: {exc}") from exc
    return name, su
