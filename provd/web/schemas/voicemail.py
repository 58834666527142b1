"""Voicemail messages in users' mailboxes."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import View


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
