"""provd-media: the media application that answers calls for the PBX.

It runs as its own asyncio process beside Kamailio, which reaches it over SIP/UDP on
loopback; rtpengine sits between it and the phones, so the media it sees is always plain
RTP on loopback with G.711 (PCMA or PCMU, 8 kHz, 20 ms frames) and RFC 4733
telephone-events. It plays prompts, collects DTMF, records, and bridges a caller to a
second leg for IVR menus, takes messages for users' mailboxes (voicemail, spooled for
provd to collect) and, later, queues. It is written on the standard
library alone (no third-party SIP or RTP stack) so that its licence and its crypto stay
ours; this package holds the codec, RTP, SDP and prompt pieces it is built from.
"""
