"""announcements.json: what provd writes is what the media application reads, a change
is seen at the next call, and an extension the file does not list is no announcement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provd.media.announcements import (
    ANNOUNCEMENTS_FILE,
    Announcement,
    AnnouncementsError,
    announcements_from_json,
    announcements_to_json,
    write_announcements,
)
from provd.media.catalogue import Catalogue

TENANTS = {
    "acme.test": {"800": Announcement("acme/closed", 3), "801": Announcement("acme/moved")},
    "other.test": {"900": Announcement("other/hello", 5)},
}


def test_announcements_round_trip() -> None:
    assert announcements_from_json(announcements_to_json(TENANTS)) == TENANTS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "announcements.json"),
        ('{"version": 2, "tenants": {}}', "version 2"),
        ('{"version": 1}', "tenants"),
        ('{"version": 1, "tenants": {"a.test": {"800": {}}}}', "sound"),
        ('{"version": 1, "tenants": {"a.test": {"800": {"sound": 7}}}}', "800: sound 7"),
        ('{"version": 1, "tenants": {"a.test": {"800": {"sound": "a/x", "plays": 0}}}}',
         "plays 0"),
        ('{"version": 1, "tenants": {"a.test": {"800": {"sound": "a/x", "plays": 6}}}}',
         "plays 6"),
    ],
)  # fmt: skip
def test_a_broken_document_is_refused_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(AnnouncementsError, match=message):
        announcements_from_json(text)


def test_the_catalogue_reads_them_again_when_provd_replaces_the_file(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    assert catalogue.announcement("acme.test", "800") is None  # no file yet
    path = write_announcements(tmp_path, TENANTS)
    assert path == tmp_path / ANNOUNCEMENTS_FILE
    assert catalogue.announcement("ACME.test", "800") == Announcement("acme/closed", 3)
    assert catalogue.announcement("acme.test", "802") is None
    write_announcements(tmp_path, {"acme.test": {"800": Announcement("acme/closed", 1)}})
    # A rewrite within the same clock tick of the same size: the stamp must differ.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert catalogue.announcement("acme.test", "800") == Announcement("acme/closed", 1)
    assert catalogue.announcement("other.test", "900") is None
