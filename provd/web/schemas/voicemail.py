"""Voicemail messages in users' mailboxes, and each mailbox's PIN and greeting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from provd.web.contract import Body, View


class VoicemailMessage(View):
    id: int
    mailbox: str = Field(description="The extension of the user the message was left for")
    caller: str = Field(description="The caller as the phone showed it; empty when withheld")
    caller_name: str
    caller_number: str | None = Field(description="The caller's number in E.164, when known")
    received_at: str
    duration_ms: int
    reason: str = Field(
        description="Why the call reached the mailbox: user-busy, no-answer, or empty (sent"
        " there directly)"
    )
    heard: bool


class Heard(VoicemailMessage):
    lamp: str = Field(
        description="What came of telling the user's phones: delivered, not_registered,"
        " rejected, no_answer, no_pbx or failed"
    )


class Mailbox(View):
    tenant: str
    extension: str
    pin_set: bool = Field(
        description="Whether a PIN is set: without one, *1233 does not open the mailbox"
    )
    greeting: str | None = Field(
        description="The sound (of the tenant) callers hear before the tone; null: none"
    )
    email: str | None = Field(description="Where copies of the messages are e-mailed")


class PinIn(Body):
    voicemail_pin: str = Field(
        description="4-8 digits, not one digit repeated, not the user's own extension;"
        " stored only as a PBKDF2-SHA256 hash"
    )
    invalid: ClassVar[Mapping[str, str]] = {"voicemail_pin": "must be a string of digits"}


class GreetingIn(Body):
    greeting: str | None = Field(description="A sound of the tenant, or null for none")
