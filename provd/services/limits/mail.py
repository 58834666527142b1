"""E-mails (spend-limit alerts, voicemail copies) through the SMTP server the platform's
settings name.

smtplib in a worker thread: an alert is a handful of messages a week, not worth an
asynchronous SMTP client as a dependency. A server that cannot be reached fails the
one message (its alert row says why), never the caller.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from provd.settings import Settings

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a voicemail's recording)."""

    filename: str
    data: bytes
    maintype: str
    subtype: str


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Smtp | None:
        if not settings.smtp_host:
            return None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from or f"provd@{settings.public_host}",
        )

    async def send(
        self, to: str, subject: str, body: str, *, attachments: Sequence[Attachment] = ()
    ) -> None:
        """Raises OSError or smtplib.SMTPException when the message was not accepted."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        for a in attachments:
            message.add_attachment(
                a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename
            )
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as client:
            client.send_message(message)
