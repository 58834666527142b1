"""The media application's settings and files, as the supervisor uses them: loopback only,
its ports apart from Kamailio's and rtpengine's, the argv it is started with, and the
default music on hold written once."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from provd.domain.errors import InvalidInput
from provd.pbx.media_app import (
    MOH_NOTES_HZ,
    media_argv,
    media_hostport,
    moh_file,
    write_default_moh,
)
from provd.pbx.settings import PbxSettings


def test_it_shares_a_loopback_kamailio_address_else_takes_127_0_0_1(tmp_path: Path) -> None:
    assert PbxSettings(tmp_path, sip_address="127.9.8.1").media_app_host == "127.9.8.1"
    assert PbxSettings(tmp_path, sip_address="192.0.2.10").media_app_host == "127.0.0.1"
    set_here = PbxSettings(tmp_path, sip_address="192.0.2.10", media_app_address="127.0.0.7")
    assert media_hostport(set_here) == "127.0.0.7:5090"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"media_app_address": "192.0.2.20"}, "media_app_address"),
        ({"media_app_address": "not an address"}, "media_app_address"),
        ({"media_app_port": 5060}, "media_app_port"),
        ({"media_app_port": 5082}, "media_app_port"),
        ({"media_app_rtp_min": 45000, "media_app_rtp_max": 45000}, "media_app_rtp_max"),
        (
            {"media_address": "127.0.0.1", "media_app_rtp_min": 39000, "media_app_rtp_max": 41000},
            "media_app_rtp_min",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        PbxSettings(tmp_path, **overrides)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_argv_names_its_addresses_ports_and_data(tmp_path: Path) -> None:
    settings = PbxSettings(tmp_path, sip_address="127.9.8.1", sip_port=5070)
    argv = media_argv(settings, python="/usr/bin/python3")
    assert argv == [
        "/usr/bin/python3",
        "-m",
        "provd.media",
        "--sip=127.9.8.1:5090",
        "--proxy=127.9.8.1:5070",
        "--rtp-host=127.9.8.1",
        "--rtp-ports=40000-44999",
        f"--data={tmp_path / 'pbx' / 'media'}",
        f"--sounds={tmp_path / 'sounds'}",
    ]


def test_the_default_music_on_hold_is_written_once(tmp_path: Path) -> None:
    path = moh_file(PbxSettings(tmp_path))
    write_default_moh(path)
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert wav.getnframes() == int(0.4 * 8000) * len(MOH_NOTES_HZ)
    path.write_bytes(b"the operator's own")
    write_default_moh(path)
    assert path.read_bytes() == b"the operator's own"
