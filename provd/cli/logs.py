"""What ``provd serve`` prints: provd's own INFO lines by default, everything with ``-v``.

Libraries (tortoise, aiosqlite, asyncpg, aiohttp) log routine events at INFO, such as
every ORM start and shutdown; in a newcomer's terminal they drown the lines that say
where provd listens and what went wrong, so they show only at WARNING unless asked for.
"""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format=_FORMAT)
    if not verbose:
        logging.getLogger("provd").setLevel(logging.INFO)
