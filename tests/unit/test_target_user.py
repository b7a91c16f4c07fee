"""The target user's password never reaches pyinfra's printed arguments."""

from __future__ import annotations

from types import SimpleNamespace

from pyinfra.api.command import HiddenValue

from winfra.target_user import target_user_arguments

SECRET = "Tgt-User-S3cret!"


def make_host(**data: object) -> SimpleNamespace:
    return SimpleNamespace(name="@winrm/dev1", data=data, get_fact=lambda *_a, **_k: {})


def test_password_travels_as_a_hidden_value() -> None:
    host = make_host(winrm_user="admin", winfra_user="alice", winfra_user_password=SECRET)
    user, args = target_user_arguments(host, None)
    assert user == "alice" and args["_su_user"] == "alice"
    hidden = args["_su_password"]
    assert isinstance(hidden, HiddenValue) and hidden.unmask() == SECRET
    # What pyinfra prints for fact/operation arguments at -v (str/repr of the kwargs dict).
    printed = f"{args} {args!r} {', '.join(f'{k}={v}' for k, v in args.items())}"
    assert SECRET not in printed


def test_same_user_needs_no_run_as() -> None:
    host = make_host(winrm_user="LAB\\Alice", winfra_user="alice", winfra_user_password=SECRET)
    assert target_user_arguments(host, None) == ("alice", {})
