"""The reference's load: G.711 RTP streams at 50 packets a second, each from its own
port, for bench/media_calls.py to relay through rtpengine.

Run as ``python _rtp_load.py JOB.json`` where the job is
``{"host": ..., "streams": [[local_port, to_host, to_port], ...]}``. It binds every
port (as counting sockets: what rtpengine relays back is counted, not read; see
_rtp_counts), prints ``ready`` and sends until it is terminated. One absolute schedule
for all streams, like a phone's 20 ms clock; a late wake-up sends the frame due and
moves on rather than bursting the backlog.
"""

from __future__ import annotations

import json
import signal
import struct
import sys
import time
from pathlib import Path

from _rtp_counts import FRAME, counting_socket

_TICK = 0.020


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    streams = [
        (counting_socket(job["host"], int(port)), (str(to_host), int(to_port)))
        for port, to_host, to_port in job["streams"]
    ]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    payload = b"\xd5" * FRAME  # A-law silence
    start = time.monotonic()
    tick = 0
    while True:
        header = struct.pack("!BBHII", 0x80, 8, tick & 0xFFFF, (tick * FRAME) & 0xFFFFFFFF, 0)
        for index, (sock, to) in enumerate(streams):
            # Each stream its own SSRC (the last 4 header bytes).
            sock.sendto(header[:8] + struct.pack("!I", index + 1) + payload, to)
        tick += 1
        delay = start + tick * _TICK - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            start -= delay  # behind: move the schedule, do not burst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
