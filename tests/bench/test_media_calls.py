"""bench/media_calls.py: its RTP counting and pcap (quick), and a tiny real run (slow)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _rtp_counts import G711A_PCAP, counting_socket, pcap_payloads, udp_drops, write_audio_pcap

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_audio_pcap_holds_50_frames_a_second_of_the_audio_given(tmp_path: Path) -> None:
    audio = bytes(range(256)) * 4
    path = tmp_path / "a.pcap"
    assert write_audio_pcap(path, 2, audio) == 100
    payloads = pcap_payloads(path)
    assert len(payloads) == 100
    assert {len(p) for p in payloads} == {160}
    assert payloads[0] == audio[:160] and payloads[1] == audio[160:320]


def test_a_counting_socket_counts_what_arrives_without_being_read() -> None:
    host = "127.77.254.9"
    sink = counting_socket(host, 0)
    port = sink.getsockname()[1]
    try:
        before = udp_drops(host, [port])[port]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(50):
                sender.sendto(b"\x80" * 172, (host, port))
        after = udp_drops(host, [port])[port]
        # The few datagrams the smallest buffer holds are not counted.
        assert 40 <= after - before <= 50
        assert udp_drops(host, [port + 1]) == {}
    finally:
        sink.close()


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("sipp") and shutil.which("rtpengine") and G711A_PCAP.exists()),
    reason="needs sipp (with its g711a.pcap) and rtpengine",
)
def test_a_tiny_run_prints_every_figure_for_calls_played_to() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "media_calls.py"), "--calls", "2", "--seconds", "2"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    number = r"(\d+(?:\.\d+)?)"
    # rtpengine may use no whole clock tick in so short a window: no per-call figure.
    maybe = r"(\d+(?:\.\d+)?|nan)"
    row = re.search(
        rf"^\s+2\s+(\d+)\s+(\d+)\s+{number}\s+{number}\s+{number}\s+{number}\s+{number}\s+{number}"
        rf"\s+\|\s+(\d+)\s+{number}\s+{maybe}\s+{maybe}\s+{maybe}x$",
        done.stdout,
        re.M,
    )
    assert row is not None, done.stdout
    up, played, pps, pps_min, cpu, per_call, per_core, rss = row.groups()[:8]
    relayed, ref_pps, ref_per_call, _, ratio = row.groups()[8:]
    assert (int(up), int(played), int(relayed)) == (2, 2, 2)
    # Each call got its greeting at about 50 packets a second; each relayed call both
    # directions.
    assert 25 <= float(pps_min) <= float(pps) <= 60
    assert 50 <= float(ref_pps) <= 120
    assert float(cpu) > 0 and float(per_call) > 0 and float(per_core) > 0
    assert float(rss) > 0
    assert not float(ref_per_call) < 0 and not float(ratio) < 0
    assert "load average before" in done.stdout
