"""mailboxes.json: what provd writes is what the media application reads, a change is
seen at the next call, and a mailbox the file does not list takes the defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provd.media.catalogue import Catalogue
from provd.media.mailboxes import (
    MAILBOXES_FILE,
    Mailbox,
    MailboxesError,
    MailboxMessage,
    mailboxes_from_json,
    mailboxes_to_json,
    write_mailboxes,
)

PIN = "pbkdf2_sha256$1000$00ff$" + "ab" * 32
TENANTS = {
    "acme.test": {
        "2001": Mailbox("acme/vm-2001", 60),
        "2002": Mailbox(),
        "2003": Mailbox(
            pin=PIN,
            messages=(
                MailboxMessage(12, "/data/voicemail/acme/2003/b.wav", False),
                MailboxMessage(7, "/data/voicemail/acme/2003/a.wav", True),
            ),
        ),
    },
    "other.test": {"3001": Mailbox(max_seconds=30)},
}


def test_mailboxes_round_trip() -> None:
    assert mailboxes_from_json(mailboxes_to_json(TENANTS)) == TENANTS


def test_the_defaults_are_no_greeting_and_two_minutes() -> None:
    assert Mailbox() == Mailbox(greeting=None, max_seconds=120)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "mailboxes.json"),
        ('{"version": 2, "tenants": {}}', "version 2"),
        ('{"version": 1}', "tenants"),
        ('{"version": 1, "tenants": {"a": {"1": {"greeting": 5}}}}', "greeting 5"),
        ('{"version": 1, "tenants": {"a": {"1": {"max_seconds": 0}}}}', "not positive"),
        ('{"version": 1, "tenants": {"a": {"1": {"max_seconds": "x"}}}}', "mailboxes.json"),
        ('{"version": 1, "tenants": {"a": {"1": {"pin": 1234}}}}', "pin is not"),
        (
            '{"version": 1, "tenants": {"a": {"1": {"messages": [{"id": 0, "path": "/a",'
            ' "heard": false}]}}}}',
            "not a positive number",
        ),
        (
            '{"version": 1, "tenants": {"a": {"1": {"messages": [{"id": 1, "path": "a.wav",'
            ' "heard": false}]}}}}',
            "not absolute",
        ),
        (
            '{"version": 1, "tenants": {"a": {"1": {"messages": [{"id": 1, "path": "/a",'
            ' "heard": "no"}]}}}}',
            "not true or false",
        ),
        ('{"version": 1, "tenants": {"a": {"1": {"messages": [{"id": 1}]}}}}', "path"),
    ],
)
def test_a_broken_document_is_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(MailboxesError, match=message):
        mailboxes_from_json(text)


def test_the_catalogue_reads_the_file_again_when_it_changes(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    # No file: every mailbox takes the defaults.
    assert catalogue.mailbox("acme.test", "2001") == Mailbox()
    path = write_mailboxes(tmp_path, TENANTS)
    assert path == tmp_path / MAILBOXES_FILE
    assert catalogue.mailbox("ACME.test", "2001") == Mailbox("acme/vm-2001", 60)
    assert catalogue.mailbox("acme.test", "2009") == Mailbox()  # not listed
    assert catalogue.mailbox("nowhere.test", "2001") == Mailbox()
    write_mailboxes(tmp_path, {"acme.test": {"2001": Mailbox(None, 90)}})
    st = path.stat()  # the same size in the same tick must still be seen as new
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert catalogue.mailbox("acme.test", "2001") == Mailbox(None, 90)
    path.unlink()
    assert catalogue.mailbox("acme.test", "2001") == Mailbox()


def test_a_broken_file_is_reported_and_read_again_once_fixed(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    (tmp_path / MAILBOXES_FILE).write_text("{")
    with pytest.raises(MailboxesError):
        catalogue.mailbox("acme.test", "2001")
    write_mailboxes(tmp_path, TENANTS)
    assert catalogue.mailbox("acme.test", "2001").greeting == "acme/vm-2001"


def test_menus_and_mailboxes_are_separate_files(tmp_path: Path) -> None:
    write_mailboxes(tmp_path, TENANTS)
    assert Catalogue(tmp_path).menus("acme.test") == {}


def test_a_document_from_before_pins_and_messages_reads_as_none() -> None:
    text = '{"version": 1, "tenants": {"a.test": {"1": {"greeting": null, "max_seconds": 9}}}}'
    assert mailboxes_from_json(text) == {"a.test": {"1": Mailbox(None, 9, None, ())}}


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    (tmp_path / "mailboxes.tmp").write_text("left over")
    os.chmod(tmp_path / "mailboxes.tmp", 0o644)
    path = write_mailboxes(tmp_path, TENANTS)
    assert path.stat().st_mode & 0o777 == 0o600
