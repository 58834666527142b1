"""Audit actions are one enum; the strings it stores are the ones the log has always held."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from provd.domain.audit_actions import AuditAction
from provd.domain.firmware import DeviceState

PROVD = Path(__file__).resolve().parents[3] / "provd"

# What admins filter the change log by and exported logs contain: never renamed.
STORED = {
    "account.add", "account.password", "account.remove", "token.create", "token.revoke",
    "tenant.add", "tenant.set", "user.add", "user.set", "user.remove",
    "device.add", "device.set", "device.remove", "device.reset", "device.seal",
    "device.import", "device.probe", "device.modules_reported", "device.resync",
    "device.reboot", "discovered.forget", "discovered.forget_all",
    "keys.set", "keys.clear", "keys.page", "keys.import",
    "firmware.add", "firmware.tested", "firmware.untested", "firmware.pin", "firmware.unpin",
    "rollout.start", "rollout.pause", "rollout.resume", "rollout.cancel", "rollout.halted",
    "rollout.done", "rollout.device.pending", "rollout.device.notified",
    "rollout.device.fetched", "rollout.device.done", "rollout.device.failed",
    "rollout.device.timed_out",
    "number.add", "number.remove", "number.assign", "number.release",
    "carrier.add", "carrier.remove", "rates.import",
    "group.add", "group.set", "group.remove", "group.member.add", "group.member.remove",
    "user.forward", "user.dnd",
    "voicemail.receive", "voicemail.heard", "voicemail.remove", "voicemail.expire",
    "voicemail.email", "voicemail.pin", "voicemail.greeting",
    "menu.add", "menu.set", "menu.remove", "sound.add", "sound.remove", "sound.replace",
    "announcement.add", "announcement.set", "announcement.remove", "moh.set", "moh.clear",
    "queue.add", "queue.set", "queue.remove", "queue.agent.add", "queue.agent.remove",
    "queue.agents.order", "queue.login", "queue.logout",
    "schedule.add", "schedule.set", "schedule.remove", "schedule.night_switch",
    "route.add", "route.set", "route.remove", "block.add", "block.remove",
    "trunk.add", "trunk.set", "trunk.remove", "trunk.number.add", "trunk.number.remove",
    "trunk.password",
    "outbound.policy.set", "limits.set", "backup.create", "backup.restore",
}  # fmt: skip


def test_the_stored_strings_are_unchanged() -> None:
    assert {a.value for a in AuditAction} == STORED


@pytest.mark.parametrize("state", list(DeviceState))
def test_every_rollout_device_state_has_its_action(state: DeviceState) -> None:
    assert AuditAction.rollout_device(state) == f"rollout.device.{state.value}"


def test_check_sync_actions() -> None:
    assert AuditAction.check_sync(reboot=True) is AuditAction.DEVICE_REBOOT
    assert AuditAction.check_sync(reboot=False) is AuditAction.DEVICE_RESYNC


def _action_arguments() -> list[tuple[str, ast.expr]]:
    found = []
    for path in sorted(PROVD.rglob("*.py")):
        text = path.read_text()
        if "record" not in text and "move_rollout" not in text:
            continue  # no call site can be in it; parsing all of provd took most of a second
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            args = [k.value for k in node.keywords if k.arg == "action"]
            if name.endswith("audit.record") and len(node.args) > 1:
                args.append(node.args[1])
            if name.endswith(("audit.record", "move_rollout")):
                found += [(f"{path.relative_to(PROVD)}:{node.lineno}", a) for a in args]
    return found


def test_no_call_site_writes_a_free_string() -> None:
    """mypy holds the type; this also catches a literal that a cast or Any let through."""
    sites = _action_arguments()
    assert len(sites) > 30
    free = [where for where, arg in sites if isinstance(arg, ast.Constant | ast.JoinedStr)]
    assert free == []
