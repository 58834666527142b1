"""A local SMTP server for tests: every message it is sent, parsed, in a list."""

from __future__ import annotations

import contextlib
import email
from collections.abc import Iterator
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextlib.contextmanager
def smtp_sink(host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[int, list[Message]]]:
    """A running sink: (the port it listens on, the messages received)."""
    handler = _Handler()
    controller = Controller(handler, hostname=host, port=port or _free_port(host))
    controller.start()
    try:
        yield controller.port, handler.messages
    finally:
        controller.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
