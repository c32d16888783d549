"""Roles and what each may do; the admin's access settings (mode, hosts, roles)."""

from __future__ import annotations

import pytest

from hotspots import access
from hotspots.config import load_settings
from hotspots.errors import AccessError, ParameterError


def _settings(tmp_path, text: str):
    path = tmp_path / "hotspots.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


def test_a_viewer_sees_maps_an_analyst_also_exports_and_uploads_an_admin_also_refreshes():
    assert [a for a in access.ACTIONS if access.may("viewer", a)] == ["view"]
    assert [a for a in access.ACTIONS if access.may("analyst", a)] == ["view", "export",
                                                                       "upload"]
    assert all(access.may("admin", a) for a in access.ACTIONS)
    assert all(access.may(access.LOCAL, a) for a in access.ACTIONS)
    assert not any(access.may(r, a) for r in (None, access.NO_ROLE, "root", "")
                   for a in access.ACTIONS)


def test_require_refuses_with_a_permission_error_naming_the_role_needed():
    with pytest.raises(AccessError, match="need the analyst role; you are signed in as "
                                          "viewer") as err:
        access.require("viewer", "export")
    assert isinstance(err.value, PermissionError)
    access.require("analyst", "export")  # no error
    with pytest.raises(ValueError, match="unknown action"):
        access.may("admin", "delete")


def test_roles_come_from_the_settings_file_by_email_without_case(tmp_path):
    s = _settings(tmp_path, '[roles]\n"Ann.Analyst@Force.Example" = "analyst"\n'
                            '"boss@force.example" = "admin"\n')
    assert access.role_for("ann.analyst@force.example", s) == "analyst"
    assert access.role_for(" BOSS@force.example ", s) == "admin"
    assert access.role_for("someone@force.example", s) == "viewer"  # default_role
    assert access.role_for(None, s) is None and access.role_for("", s) is None


def test_default_role_none_lets_in_only_the_users_listed(tmp_path):
    s = _settings(tmp_path, 'default_role = "none"\n[roles]\n"a@force.example" = "viewer"\n')
    assert access.role_for("a@force.example", s) == "viewer"
    assert access.role_for("b@force.example", s) is None


def test_local_mode_with_no_hosts_or_roles_is_the_default():
    s = load_settings(env={})
    assert (s.mode, s.allowed_hosts, s.roles, s.default_role) == ("local", (), {}, "viewer")


@pytest.mark.parametrize("text, match", [
    ('mode = "cloud"\n', "mode must be one of local, deployment"),
    ('allowed_hosts = "a.example"\n', "allowed_hosts must be a list of host names"),
    ('allowed_hosts = ["https://a.example/"]\n', "allowed_hosts must be a list"),
    ('[roles]\n"a@b.example" = "superuser"\n', "a role is one of viewer, analyst, admin"),
    ('default_role = "guest"\n', "default_role must be one of"),
])
def test_bad_access_settings_are_one_line_errors(tmp_path, text, match):
    with pytest.raises(ParameterError, match=match):
        _settings(tmp_path, text)


def test_access_settings_are_never_taken_from_the_environment(tmp_path):
    env = {"HOTSPOTS_MODE": "local", "HOTSPOTS_DEFAULT_ROLE": "admin",
           "HOTSPOTS_ALLOWED_HOSTS": "evil.example"}
    path = tmp_path / "hotspots.toml"
    path.write_text('mode = "deployment"\nallowed_hosts = ["Dash.Force.Example."]\n',
                    encoding="utf-8")
    s = load_settings(path, env=env)
    assert (s.mode, s.allowed_hosts, s.default_role) == ("deployment",
                                                        ("dash.force.example",), "viewer")


def test_a_download_producer_refuses_an_account_whose_role_may_not_export(tmp_path):
    from hotspots.ui import downloads

    log = tmp_path / "exports.jsonl"
    settings = load_settings(env={}).with_(audit_log=str(log))
    # Outside a signed-in session no role was found for the account: it may not export.
    produce = downloads.producer("hotspots.csv", {"view": "hotspots"}, "x.csv", settings,
                                 b"rank\n1\n", user="vic.viewer@force.example")
    with pytest.raises(AccessError, match="need the analyst role"):
        produce()
    assert not log.exists()  # refused before any line or byte
    assert downloads.producer("hotspots.csv", {}, "x.csv", settings, b"rank\n")() == b"rank\n"
