"""What the processes serving one platform share: every worker of ``provd serve
--workers N`` and every node on one PostgreSQL database behave as one server.

- ``nonce_key``: one digest nonce key for the platform, in the database, so a
  challenge from any process can be answered on any other;
- ``nonces``: a nonce's first use claims it, so its count (nc) is kept by one
  process and a replay to any other is refused;
- ``throttle``: failed authentications counted in the database, so the phone
  throttle and the console lockout hold across processes;
- ``leader``: one lease, so the PBX, the rollout engine, discovery, the audit watcher
  and housekeeping run in exactly one process, and in another when that one dies;
- ``housekeeping``: expired claims and forgotten failure counts deleted (by the leader).

Where the state lives and why is in docs/architecture.md ("Workers and nodes").
"""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    """This process among all that serve the platform: host name and pid."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"
