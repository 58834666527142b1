"""Every spoken prompt provd ships, by name, with its words: the packaged files are
``provd/media/prompts/<name>.wav``, spoken once by ``scripts/make-prompts`` (espeak-ng)
and committed. Each service keeps its own words beside its rules; this is the one
list the script and the completeness test read."""

from __future__ import annotations

from provd.domain import queues, voicemail_access

PROMPTS: dict[str, str] = {**voicemail_access.PROMPTS, **queues.PROMPTS}
