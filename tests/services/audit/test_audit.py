from __future__ import annotations

from provd.db.models import AuditEntry
from provd.services import audit, devices
from provd.services.directory import users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR


def test_redact_replaces_every_secret_looking_key() -> None:
    redacted = audit.redact(
        {
            "name": "x",
            "password": "p",
            "nested": {"sip_password": "s", "api_token": "t"},
            "list": [{"ha1": "h"}],
        }
    )
    assert redacted == {
        "name": "x",
        "password": "***",
        "nested": {"sip_password": "***", "api_token": "***"},
        "list": [{"ha1": "***"}],
    }


async def test_every_change_writes_one_audit_row_without_secrets(platform: Platform) -> None:
    start = await AuditEntry.all().count()
    _, sip_password = await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")
    _, credential = await devices.add_device(
        platform, TEST_ACTOR, "0015654aa937", "yealink-t46g", users=["201"]
    )
    await devices.reset_device(TEST_ACTOR, "0015654aa937")
    await devices.remove_device(TEST_ACTOR, "0015654aa937")
    rows = await AuditEntry.filter(id__gt=start).order_by("id")
    assert [r.action for r in rows] == ["user.add", "device.add", "device.reset", "device.remove"]
    assert all(r.actor == "test" for r in rows)
    dump = str([(r.before, r.after) for r in rows])
    assert sip_password not in dump and credential.password not in dump
    assert rows[-1].before is not None and rows[-1].before["mac"] == "0015654aa937"


async def test_secrets_are_encrypted_at_rest(platform: Platform) -> None:
    _, sip_password = await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")
    _, credential = await devices.add_device(platform, TEST_ACTOR, "0015654aa937", "yealink-t46g")
    raw = b"".join(f.read_bytes() for f in platform.data_dir.glob("provd.sqlite3*"))
    assert b"0015654aa937" in raw  # the rows are really on disk
    assert sip_password.encode() not in raw
    assert credential.password.encode() not in raw
