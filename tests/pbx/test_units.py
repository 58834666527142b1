"""Pure parts of the PBX layer: no process, no network."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from provd.domain.errors import InvalidInput
from provd.pbx.config import render_local_config
from provd.pbx.errors import PbxError, RpcError
from provd.pbx.notify import CheckSyncOutcome, check_sync
from provd.pbx.probe import ProbeResult, answer_means_up, carrier_uri, probe_carrier
from provd.pbx.rpc import KamailioRpc
from provd.pbx.rtpengine import bdecode, bencode
from provd.pbx.settings import PbxSecrets, PbxSettings
from provd.pbx.status import Registration, parse_dump, parse_hostport, parse_lookup
from provd.pbx.status import registration as status_registration
from provd.pbx.subscribers import (
    SipAccount,
    SubscriberRow,
    derive_subscriber_rows,
    plan_subscriber_changes,
)

SECRETS = PbxSecrets(rpc_token="r" * 48, notify_token="n" * 48, route_token="t" * 48)


def test_subscriber_rows_hold_rfc2617_ha1_with_the_domain_as_realm() -> None:
    [row] = derive_subscriber_rows([SipAccount("acme-201", "acme.test", "S3cret-pw", "201")])
    assert row.ha1 == hashlib.md5(b"acme-201:acme.test:S3cret-pw").hexdigest()
    assert row.ha1b == hashlib.md5(b"acme-201@acme.test:acme.test:S3cret-pw").hexdigest()
    assert (row.username, row.domain, row.aor_user, row.aor) == (
        "acme-201",
        "acme.test",
        "201",
        "201@acme.test",
    )
    assert "S3cret-pw" not in repr(row)


def _row(user: str, ext: str, ha1: str = "h") -> SubscriberRow:
    return SubscriberRow(user, "acme.test", ha1, "hb", ext)


def test_plan_writes_only_differences_and_unbinds_lost_aors() -> None:
    current = [_row("a", "201"), _row("b", "202"), _row("c", "203")]
    desired = [_row("a", "201"), _row("b", "202", ha1="new"), _row("c", "213"), _row("d", "204")]
    plan = plan_subscriber_changes(current, desired)
    assert [r.username for r in plan.upserts] == ["b", "c", "d"]
    assert plan.deletes == ()
    # c moved from 203 to 213: the old address must lose its registrations.
    assert plan.unbound_aors == ("203@acme.test",)
    gone = plan_subscriber_changes(current, desired[:1])
    assert gone.deletes == (("b", "acme.test"), ("c", "acme.test"))
    assert plan_subscriber_changes(current, current).empty


# Captured from Kamailio 5.6 (ul.dump / ul.lookup over JSON-RPC).
_CONTACT = {
    "Address": "sip:2000@192.168.1.20:5060;transport=udp",
    "Expires": 3599,
    "Q": -1,
    "Call-ID": "1-15213@127.0.3.4",
    "CSeq": 2,
    "User-Agent": "Yealink SIP-T46G 28.83.0.120",
    "Received": "sip:203.0.113.7:40612",
    "Path": "[not set]",
    "Socket": "udp:127.0.3.1:5060",
    "Instance": "[not set]",
}
_DUMP = {
    "Domains": [
        {
            "Domain": {
                "Domain": "location",
                "Size": 1024,
                "AoRs": [{"Info": {"AoR": "2000@acme.test", "Contacts": [{"Contact": _CONTACT}]}}],
                "Stats": {"Records": 1, "Max-Slots": 1},
            }
        }
    ]
}


def test_status_parses_wan_and_lan_addresses() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    regs = parse_dump(_DUMP, now=now)
    [binding] = regs["2000@acme.test"].contacts
    assert str(binding.lan_address) == "192.168.1.20:5060"
    assert str(binding.wan_address) == "203.0.113.7:40612"
    assert binding.behind_nat
    assert binding.user_agent == "Yealink SIP-T46G 28.83.0.120"
    assert binding.expires_at == datetime(2026, 1, 1, 0, 59, 59, tzinfo=UTC)
    assert binding.instance is None
    lookup = parse_lookup(
        "2000@acme.test", {"AoR": "2000@acme.test", "Contacts": [{"Contact": _CONTACT}]}
    )
    assert lookup.registered and lookup.contacts[0].uri == _CONTACT["Address"]
    assert parse_dump({"Domains": []}) == {}


def test_hostport_parsing() -> None:
    assert str(parse_hostport("sip:[2001:db8::1]:5062;transport=tcp")) == "2001:db8::1:5062"
    assert str(parse_hostport("sip:phone.example.net")) == "phone.example.net"
    assert parse_hostport("not a uri") is None


def test_bencode_round_trip() -> None:
    value = {"command": "ping", "flags": ["a", "b"], "n": 3, "nested": {"x": "y"}}
    assert bencode(value) == b"d7:command4:ping5:flagsl1:a1:be1:ni3e6:nestedd1:x1:yee"
    assert bdecode(bencode(value)) == value


def test_local_config_renders_aliases_and_switches(tmp_path: Path) -> None:
    settings = PbxSettings(data_dir=tmp_path, sip_address="192.0.2.10", with_blf=True)
    text = render_local_config(
        settings, SECRETS, ["Acme.Test", "b.test", "acme.test"], run_dir=tmp_path
    )
    assert text.count("alias=") == 2
    assert 'alias="acme.test"' in text and 'alias="b.test"' in text
    assert "listen=udp:192.0.2.10:5060" in text
    assert "listen=tcp:127.0.0.1:5081" in text
    assert "#!define WITH_BLF" in text and "#!define WITH_FLOOD" in text
    assert "#!define ULDBMODE 2" in text  # SQLite: never write-through
    assert "#!define WITH_PGSQL" not in text
    pg = PbxSettings(
        data_dir=tmp_path, db_url="postgres://k:pw@127.0.0.1:5432/provd", flood_limit=None
    )
    pg_text = render_local_config(pg, SECRETS, [], run_dir=tmp_path)
    assert "#!define WITH_PGSQL" in pg_text and "#!define ULDBMODE 1" in pg_text
    assert '#!define DBURL "postgres://k:pw@127.0.0.1:5432/provd"' in pg_text
    assert "WITH_FLOOD" not in pg_text


def test_local_config_refuses_injection(tmp_path: Path) -> None:
    settings = PbxSettings(data_dir=tmp_path)
    with pytest.raises(InvalidInput):
        render_local_config(
            settings, SECRETS, ['evil.test"\nlisten=udp:0.0.0.0:5060'], run_dir=tmp_path
        )
    bad = PbxSecrets(rpc_token='x"\ndebug=3', notify_token="n", route_token="t")
    with pytest.raises(PbxError):
        render_local_config(settings, bad, [], run_dir=tmp_path)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sip_address", "not-an-ip"), ("sip_port", 0), ("flood_limit", 0), ("db_url", "mysql://x/y")],
)
def test_settings_reject_bad_values(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(InvalidInput):
        PbxSettings(data_dir=tmp_path, **{field: value})  # type: ignore[arg-type]


def test_secrets_persist_with_mode_0600(tmp_path: Path) -> None:
    first = PbxSecrets.load_or_create(tmp_path)
    assert PbxSecrets.load_or_create(tmp_path) == first
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert first.rpc_token != first.notify_token


@pytest.mark.parametrize(
    ("status", "up"),
    [
        (200, True),
        (302, True),
        # A live stack refusing OPTIONS itself: its INVITE handling is not in question.
        (401, True),
        (403, True),
        (404, True),
        (405, True),
        (501, True),
        (603, True),
        # What makes a call fail over to the next carrier.
        (408, False),
        (500, False),
        (502, False),
        (503, False),
        (504, False),
    ],
)
def test_which_answers_to_options_mean_the_carrier_is_up(status: int, up: bool) -> None:
    assert answer_means_up(status) is up
    assert ProbeResult(status, "Reason").up is up


class _CannedRpc(KamailioRpc):
    """Answers tm.t_uac_wait as Kamailio does, without one: what provd sends is kept."""

    def __init__(self, answer: list[object] | Exception) -> None:
        super().__init__("http://127.0.0.1:9/RPC", token=None)
        self.answer = answer
        self.sent: list[tuple[str, ...]] = []

    async def call(self, method: str, *params: str, timeout: float | None = None) -> Any:
        self.sent.append((method, *params))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


_REPLY = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCSeq: 10 OPTIONS\r\n\r\n"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # The carrier's reply: its headers follow the code and reason.
        ([200, "OK", "", "", "", _REPLY], ProbeResult(200, "OK")),
        ([503, "Maintenance", _REPLY], ProbeResult(503, "Maintenance")),
        # tm's own 408 after fr_timer: nothing came from the carrier.
        ([408, "Request Timeout", "", "", "", ""], ProbeResult(None, "Request Timeout")),
        # The carrier's own 408 is an answer (down all the same).
        ([408, "Request Timeout", _REPLY], ProbeResult(408, "Request Timeout")),
        (
            RpcError("tm.t_uac_wait", 500, "I'm terribly sorry, server error occurred"),
            ProbeResult(None, "not sent: I'm terribly sorry, server error occurred"),
        ),
    ],
)
async def test_a_probe_tells_the_carriers_answer_from_tms_own(
    answer: list[object] | Exception, expected: ProbeResult
) -> None:
    rpc = _CannedRpc(answer)
    uri = carrier_uri("192.0.2.7:5070", "tcp")
    result = await probe_carrier(rpc, uri, next_hop=uri, from_uri="sip:provd@192.0.2.1:5060")
    assert result == expected
    assert result.up is (expected.status == 200)
    [(method, verb, ruri, hop, socket, headers)] = rpc.sent
    assert (method, verb, ruri, hop, socket) == (
        "tm.t_uac_wait",
        "OPTIONS",
        "sip:192.0.2.7:5070;transport=tcp",
        "sip:192.0.2.7:5070;transport=tcp",
        ".",
    )
    # tm adds Via, Call-ID, CSeq, Max-Forwards and the From tag: a second copy breaks it.
    assert headers == (
        "From: <sip:provd@192.0.2.1:5060>\r\nTo: <sip:192.0.2.7:5070;transport=tcp>\r\n"
    )


async def test_a_kamailio_that_cannot_be_asked_says_nothing_of_the_carrier() -> None:
    rpc = _CannedRpc(PbxError("kamailio RPC at http://127.0.0.1:9/RPC unreachable"))
    with pytest.raises(PbxError):
        await probe_carrier(rpc, "sip:192.0.2.7", next_hop="sip:192.0.2.7", from_uri="sip:p@h")
    with pytest.raises(ValueError, match="from_uri"):
        await probe_carrier(rpc, "sip:x", next_hop="sip:x", from_uri="sip:p@h\r\nX-Evil: 1")


def test_probe_answers_read_for_people() -> None:
    assert carrier_uri("[2001:db8::1]:5060", "udp") == "sip:[2001:db8::1]:5060"
    assert ProbeResult(200, "OK").describe() == "200 OK"
    assert ProbeResult(None, "Request Timeout").describe() == "no answer: Request Timeout"


def test_uacreg_rows_register_each_carrier_as_its_name_through_its_own_address() -> None:
    from provd.pbx.registrations import CarrierAccount, derive_registration_rows

    rows = derive_registration_rows(
        [
            CarrierAccount("zeta", "2001:db8::1", 5061, "tls", "31201234500", "pw-2"),
            CarrierAccount("alpha", "sip.alpha.test", 5060, "udp", "acct", "pw-1"),
        ],
        local_domain="192.0.2.10",
    )
    assert rows == [
        (
            "alpha",
            "alpha",
            "192.0.2.10",
            "acct",
            "sip.alpha.test",
            "acct",
            "pw-1",
            "sip:sip.alpha.test:5060",
            600,
        ),
        (
            "zeta",
            "zeta",
            "192.0.2.10",
            "31201234500",
            "2001:db8::1",
            "31201234500",
            "pw-2",
            "sip:[2001:db8::1]:5061;transport=tls",
            600,
        ),
    ]


async def test_check_sync_sends_the_event_it_is_given() -> None:
    # The event is the phone's vendor's, chosen by the services from its driver.
    rpc = _CannedRpc([200, "OK"])
    result = await check_sync(
        rpc,
        "201@acme.test",
        event="any-vendor;action=resync",
        next_hop="sip:127.0.0.1:5060",
        notify_token="n" * 48,
        contact="sip:201@192.0.2.5:5060",
    )
    assert (result.event, result.outcome, result.status) == (
        "any-vendor;action=resync",
        CheckSyncOutcome.DELIVERED,
        200,
    )
    [(method, verb, ruri, hop, socket, headers)] = rpc.sent
    assert (method, verb, ruri, hop, socket) == (
        "tm.t_uac_wait",
        "NOTIFY",
        "sip:201@acme.test",
        "sip:127.0.0.1:5060",
        ".",
    )
    assert headers == (
        "From: <sip:provd@acme.test>\r\nTo: <sip:201@acme.test>\r\n"
        "Event: any-vendor;action=resync\r\nSubscription-State: terminated\r\n"
        f"X-Provd-Token: {'n' * 48}\r\nX-Provd-Contact: sip:201@192.0.2.5:5060\r\n"
    )


async def test_check_sync_refuses_an_event_that_would_add_a_header() -> None:
    rpc = _CannedRpc([200, "OK"])
    with pytest.raises(ValueError, match="event"):
        await check_sync(
            rpc,
            "201@acme.test",
            event="check-sync\r\nX-Evil: 1",
            next_hop="sip:127.0.0.1:5060",
            notify_token="n" * 48,
        )
    assert rpc.sent == []


@pytest.mark.parametrize("message", ["AOR not found in location table", "AOR has no contacts"])
async def test_an_aor_without_contacts_is_not_registered(message: str) -> None:
    rpc = _CannedRpc(RpcError("ul.lookup", 500, message))
    registration = await status_registration(rpc, "2050@acme.test")
    assert registration == Registration("2050@acme.test")
    assert not registration.registered


async def test_another_lookup_error_is_raised() -> None:
    rpc = _CannedRpc(RpcError("ul.lookup", 500, "Internal error"))
    with pytest.raises(RpcError):
        await status_registration(rpc, "2050@acme.test")
