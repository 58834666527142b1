"""What an audit row says happened: one name per kind of change.

The values are what the change log has always stored and shows (the console's
action filter matches on their prefix), so they must never be renamed.
"""

from __future__ import annotations

from enum import StrEnum

from provd.domain.firmware import DeviceState


class AuditAction(StrEnum):
    ACCOUNT_ADD = "account.add"
    ACCOUNT_PASSWORD = "account.password"
    ACCOUNT_REMOVE = "account.remove"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"

    TENANT_ADD = "tenant.add"
    TENANT_SET = "tenant.set"
    USER_ADD = "user.add"
    USER_SET = "user.set"
    USER_REMOVE = "user.remove"

    DEVICE_ADD = "device.add"
    DEVICE_SET = "device.set"
    DEVICE_REMOVE = "device.remove"
    DEVICE_RESET = "device.reset"
    DEVICE_SEAL = "device.seal"
    DEVICE_IMPORT = "device.import"
    DEVICE_PROBE = "device.probe"
    DEVICE_MODULES_REPORTED = "device.modules_reported"
    DEVICE_RESYNC = "device.resync"
    DEVICE_REBOOT = "device.reboot"

    DISCOVERED_FORGET = "discovered.forget"
    DISCOVERED_FORGET_ALL = "discovered.forget_all"

    KEYS_SET = "keys.set"
    KEYS_CLEAR = "keys.clear"
    KEYS_PAGE = "keys.page"
    KEYS_IMPORT = "keys.import"

    FIRMWARE_ADD = "firmware.add"
    FIRMWARE_TESTED = "firmware.tested"
    FIRMWARE_UNTESTED = "firmware.untested"
    FIRMWARE_PIN = "firmware.pin"
    FIRMWARE_UNPIN = "firmware.unpin"

    ROLLOUT_START = "rollout.start"
    ROLLOUT_PAUSE = "rollout.pause"
    ROLLOUT_RESUME = "rollout.resume"
    ROLLOUT_CANCEL = "rollout.cancel"
    ROLLOUT_HALTED = "rollout.halted"
    ROLLOUT_DONE = "rollout.done"
    ROLLOUT_DEVICE_PENDING = "rollout.device.pending"
    ROLLOUT_DEVICE_NOTIFIED = "rollout.device.notified"
    ROLLOUT_DEVICE_FETCHED = "rollout.device.fetched"
    ROLLOUT_DEVICE_DONE = "rollout.device.done"
    ROLLOUT_DEVICE_FAILED = "rollout.device.failed"
    ROLLOUT_DEVICE_TIMED_OUT = "rollout.device.timed_out"

    NUMBER_ADD = "number.add"
    NUMBER_REMOVE = "number.remove"
    NUMBER_ASSIGN = "number.assign"
    NUMBER_RELEASE = "number.release"
    CARRIER_ADD = "carrier.add"
    CARRIER_REMOVE = "carrier.remove"
    RATES_IMPORT = "rates.import"

    GROUP_ADD = "group.add"
    GROUP_SET = "group.set"
    GROUP_REMOVE = "group.remove"
    GROUP_MEMBER_ADD = "group.member.add"
    GROUP_MEMBER_REMOVE = "group.member.remove"
    USER_FORWARD = "user.forward"
    USER_DND = "user.dnd"
    VOICEMAIL_RECEIVE = "voicemail.receive"
    VOICEMAIL_HEARD = "voicemail.heard"
    VOICEMAIL_REMOVE = "voicemail.remove"
    VOICEMAIL_EXPIRE = "voicemail.expire"
    VOICEMAIL_EMAIL = "voicemail.email"
    VOICEMAIL_PIN = "voicemail.pin"
    VOICEMAIL_GREETING = "voicemail.greeting"
    MENU_ADD = "menu.add"
    MENU_SET = "menu.set"
    MENU_REMOVE = "menu.remove"
    QUEUE_ADD = "queue.add"
    QUEUE_SET = "queue.set"
    QUEUE_REMOVE = "queue.remove"
    QUEUE_AGENT_ADD = "queue.agent.add"
    QUEUE_AGENT_REMOVE = "queue.agent.remove"
    QUEUE_AGENTS_ORDER = "queue.agents.order"
    QUEUE_LOGIN = "queue.login"
    QUEUE_LOGOUT = "queue.logout"
    SOUND_ADD = "sound.add"
    SOUND_REMOVE = "sound.remove"
    ANNOUNCEMENT_ADD = "announcement.add"
    ANNOUNCEMENT_SET = "announcement.set"
    ANNOUNCEMENT_REMOVE = "announcement.remove"
    MOH_SET = "moh.set"
    MOH_CLEAR = "moh.clear"
    SOUND_REPLACE = "sound.replace"
    SCHEDULE_ADD = "schedule.add"
    SCHEDULE_SET = "schedule.set"
    SCHEDULE_REMOVE = "schedule.remove"
    SCHEDULE_NIGHT_SWITCH = "schedule.night_switch"
    ROUTE_ADD = "route.add"
    ROUTE_SET = "route.set"
    ROUTE_REMOVE = "route.remove"
    BLOCK_ADD = "block.add"
    BLOCK_REMOVE = "block.remove"
    TRUNK_ADD = "trunk.add"
    TRUNK_SET = "trunk.set"
    TRUNK_REMOVE = "trunk.remove"
    TRUNK_NUMBER_ADD = "trunk.number.add"
    TRUNK_NUMBER_REMOVE = "trunk.number.remove"
    TRUNK_PASSWORD = "trunk.password"
    OUTBOUND_POLICY_SET = "outbound.policy.set"
    LIMITS_SET = "limits.set"
    BACKUP_CREATE = "backup.create"
    BACKUP_RESTORE = "backup.restore"

    @classmethod
    def rollout_device(cls, state: DeviceState) -> AuditAction:
        """A rollout device moving into ``state``."""
        return cls(f"rollout.device.{state.value}")

    @classmethod
    def check_sync(cls, *, reboot: bool) -> AuditAction:
        """A check-sync NOTIFY sent to a phone: reboot, or re-read its configuration."""
        return cls.DEVICE_REBOOT if reboot else cls.DEVICE_RESYNC
