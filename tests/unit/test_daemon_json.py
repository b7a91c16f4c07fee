"""winfra.validation.daemon_json: rendering H8's template and validating against the host."""

from __future__ import annotations

import json

import pytest

from winfra.validation.daemon_json import (
    DaemonJsonContext,
    DaemonJsonError,
    flags_to_keys,
    json_diff,
    parse_existing,
    render,
    validate,
)


def ctx(**kw):
    base = dict(host="srv1", target="engine", build=20348, is_server=True, local_groups=["Administrators"])
    base.update(kw)
    return DaemonJsonContext(**base)


def test_template_renders_config_over_defaults():
    text = render("templates/daemon.json.j2", {"debug": True, "group": None}, {"group": "docker-users"})
    assert json.loads(text) == {"debug": True, "group": "docker-users"}


def test_template_none_renders_config_directly():
    assert json.loads(render(None, {"log-level": "warn"})) == {"log-level": "warn"}


def test_missing_template_names_the_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.j2"):
        render("nope.j2", {}, search_dirs=[tmp_path])


def test_valid_engine_config_gives_canonical_text_without_bom():
    v = validate('\ufeff{"hosts": ["npipe://"], "debug": false}', ctx())
    assert v.text == '{\n  "debug": false,\n  "hosts": [\n    "npipe://"\n  ]\n}\n'
    assert not v.text.startswith("\ufeff")


def test_linux_only_keys_listed_together():
    with pytest.raises(DaemonJsonError) as exc:
        validate(json.dumps({"default-address-pools": [], "iptables": False, "userns-remap": "x"}), ctx())
    msg = str(exc.value)
    assert "srv1" in msg
    assert (
        "Linux-only keys the Windows engine does not accept: default-address-pools, iptables, userns-remap"
        in msg
    )


def test_linux_keys_fine_for_desktop_linux_engine():
    v = validate(
        json.dumps({"default-address-pools": [{"base": "10.0.0.0/8", "size": 24}]}), ctx(target="desktop")
    )
    assert "default-address-pools" in v.data


def test_unknown_and_removed_keys():
    with pytest.raises(DaemonJsonError) as exc:
        validate(json.dumps({"debgu": True, "graph": "D:\\d"}), ctx())
    assert "unknown key 'debgu'" in str(exc.value)
    assert "'graph' was removed" in str(exc.value)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"debug": "yes"}, "'debug' must be a boolean"),
        ({"mtu": True}, "'mtu' must be an integer"),
        ({"hosts": "npipe://"}, "'hosts' must be a list of strings"),
        ({"log-opts": {"max-size": 10}}, "'log-opts' must be an object of string values"),
        ({"log-level": "verbose"}, "log-level 'verbose' is not one of"),
        ({"storage-driver": "overlay2"}, "does not exist on Windows"),
        ({"bridge": "docker0"}, 'only "none" is valid'),
        ({"default-runtime": "runc"}, "is a Linux runtime"),
        ({"hosts": ["unix:///var/run/docker.sock"]}, "Linux-only"),
        ({"data-root": "/var/lib/docker"}, "must be an absolute Windows path"),
        ({"exec-opts": ["isolation=vm"]}, "isolation must be one of"),
    ],
)
def test_value_errors(config, fragment):
    with pytest.raises(DaemonJsonError) as exc:
        validate(json.dumps(config), ctx())
    assert fragment in str(exc.value)


def test_windows_runtime_accepted():
    assert validate(json.dumps({"default-runtime": "io.containerd.runhcs.v1"}), ctx()).data


def test_process_isolation_on_old_client_refused_new_client_ok():
    cfg = json.dumps({"exec-opts": ["isolation=process"]})
    with pytest.raises(DaemonJsonError, match="17763"):
        validate(cfg, ctx(is_server=False, build=17134))
    assert validate(cfg, ctx(is_server=False, build=22631)).data


def test_desktop_linux_engine_refuses_isolation_and_windows_data_root():
    with pytest.raises(DaemonJsonError) as exc:
        validate(
            json.dumps({"exec-opts": ["isolation=process"], "data-root": "D:\\docker"}), ctx(target="desktop")
        )
    msg = str(exc.value)
    assert "linux only supports 'default'" in msg
    assert "data-root 'D:\\\\docker' is not a Linux path" in msg or "is not a Linux path" in msg
    assert validate(json.dumps({"data-root": "/mnt/data"}), ctx(target="desktop")).data


def test_group_missing_created_or_refused():
    cfg = json.dumps({"group": "docker"})
    assert validate(cfg, ctx()).groups_to_create == ["docker"]
    with pytest.raises(DaemonJsonError, match="create_group=False"):
        validate(cfg, ctx(create_group=False))
    assert validate(json.dumps({"group": "administrators"}), ctx(create_group=False)).groups_to_create == []


def test_flag_conflict_names_both():
    with pytest.raises(DaemonJsonError) as exc:
        validate(
            json.dumps({"hosts": ["npipe://"]}),
            ctx(service_flags=["--run-service", "--service-name", "docker", "-H", "tcp://0.0.0.0:2375"]),
        )
    msg = str(exc.value)
    assert "'hosts' is set both in daemon.json and as a flag" in msg
    assert "tcp://0.0.0.0:2375" in msg and "npipe://" in msg


def test_flags_to_keys():
    keys = flags_to_keys(
        ["--run-service", "--service-name", "docker", "-H=npipe://", "-D", "--exec-opt", "isolation=hyperv"]
    )
    assert keys == {"hosts": ["npipe://"], "debug": ["true"], "exec-opts": ["isolation=hyperv"]}


def test_empty_and_non_object():
    with pytest.raises(DaemonJsonError, match="empty"):
        validate("  ", ctx())
    with pytest.raises(DaemonJsonError, match="JSON object"):
        validate("[]", ctx())
    with pytest.raises(DaemonJsonError, match="not JSON"):
        validate("{'a': 1}", ctx())


def test_json_diff_and_parse_existing():
    assert json_diff({"a": 1, "b": 2}, {"b": 3, "c": 4}) == ["- a: 1", "~ b: 2 -> 3", "+ c: 4"]
    assert parse_existing('\ufeff{"a": 1}') == ({"a": 1}, True)
    assert parse_existing("garbage") == (None, False)
    assert parse_existing(None) == (None, False)
