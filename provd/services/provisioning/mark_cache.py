"""Values read from the database, kept while the audit log's newest id stays the same.

Every change that can alter what the phone path reads (users, devices, credentials,
layouts, pins, rollouts, tenant settings) writes an audit row in its own transaction,
so an unchanged high-water mark means unchanged data. A phone fetches three or four
files within a second when it boots: with these caches it is looked up and its
context built once per boot instead of once per file, at the price of one indexed
query per request (:func:`audit_mark`).

Some rows this process writes itself change nothing cached: a device sealed by its
first own fetch (the cached device is the object that was sealed). A storm of first
boots writes one per phone, and each would otherwise flush every cache. The ids of
such rows go into :class:`HarmlessIds`; an entry stays valid across a newer mark when
every id between its mark and the new one is such a row. Ids are not guessed: a row
another process wrote, or a gap in the sequence, is not in the set, so the entry is
read again.

Entries also expire ``max_age`` seconds after they were read. A boot is over well
within that, and it bounds the one case a high-water mark misses: on PostgreSQL a
transaction holding a lower id can commit after a higher id is already visible, so
its change would otherwise wait for the next audit row.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from provd.db import direct
from provd.db.models import AuditEntry

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MARK_SQL = f'SELECT MAX("id") FROM "{AuditEntry._meta.db_table}"'


async def audit_mark() -> int:
    """The newest audit id (0 for an empty log)."""
    rows = await direct.fetch(_MARK_SQL)
    mark = rows[0][0] if rows else None
    return int(mark) if mark is not None else 0


class HarmlessIds:
    """Audit ids, committed by this process, that alter nothing any cache holds."""

    def __init__(self, max_ids: int = 4096) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._max = max_ids

    def add(self, audit_id: int) -> None:
        self._ids[audit_id] = None
        while len(self._ids) > self._max:
            self._ids.popitem(last=False)

    def cover(self, old_mark: int, new_mark: int) -> bool:
        """Whether every id after ``old_mark`` up to ``new_mark`` is harmless."""
        if old_mark == new_mark:
            return True
        newer = range(old_mark + 1, new_mark + 1)
        return 0 < len(newer) <= len(self._ids) and all(i in self._ids for i in newer)


class Miss:
    pass


MISS = Miss()


ENTRIES = 2048
"""A phone path cache's bound, per process. An entry must outlive the boot that made it
(a phone's three or four requests) while every other phone in flight adds its own, so
this covers some 2,000 phones in flight per worker; beyond a boot they are rarely read
again. Each entry is a few kilobytes (a rendered file, a device's context): with 4,096,
two workers peaked at 164.6 and 163.6 MB of RSS in a storm of 10,000 phones, 1,000 at a
time (bench/fleet_storm.py), with 2,048 at 156.5 and 153.0 MB."""


class MarkCache(Generic[K, V]):
    """A bounded LRU map whose entries hold while the audit mark does."""

    def __init__(
        self, harmless: HarmlessIds, *, max_entries: int = ENTRIES, max_age: float = 30.0
    ) -> None:
        self._entries: OrderedDict[K, tuple[int, float, V]] = OrderedDict()
        self._harmless = harmless
        self._max = max_entries
        self._max_age = max_age

    def get(self, key: K, mark: int) -> V | Miss:
        hit = self._entries.get(key)
        if hit is None:
            return MISS
        cached_mark, read_at, value = hit
        if time.monotonic() - read_at >= self._max_age or not self._harmless.cover(
            cached_mark, mark
        ):
            del self._entries[key]
            return MISS
        self._entries[key] = (mark, read_at, value)
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, mark: int, value: V) -> None:
        """``mark`` must have been read before ``value``: a change committed in between
        then makes the entry look older than it is, never newer."""
        self._entries[key] = (mark, time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
