"""Text that ends up in a phone's configuration: printable characters only.

No vendor format can carry a control character in a value: a line break or any
C0/C1 control ends or corrupts a Yealink ``key = value`` line, and XML 1.0 (Snom)
forbids most of them outright. The drivers refuse such a value rather than alter
it, so one stored in a tenant's or the platform's layout would make every device
in that scope unrenderable. Each value is therefore refused where it comes in,
with an error naming the field.

"Printable" is Python's :meth:`str.isprintable`: no control (Cc), format (Cf),
surrogate, private-use or unassigned character, and no separator but the space,
which also rules out U+2028/U+2029 (line and paragraph separators).
"""

from __future__ import annotations

from provd.domain.errors import InvalidInput


def first_unprintable(text: str) -> int | None:
    """The index of the first character that is not printable, or None."""
    for i, c in enumerate(text):
        if not c.isprintable():
            return i
    return None


def check_printable(text: str, *, field: str, what: str = "") -> str:
    """``text`` itself if every character is printable; else :class:`InvalidInput`.

    ``what`` starts the message when ``field`` alone does not say which value is
    meant (``"the target"`` of a key named by its location).
    """
    i = first_unprintable(text)
    if i is not None:
        # The code point rather than the text, so the message stays one readable line.
        subject = f"{what} " if what else ""
        raise InvalidInput(
            field,
            f"{subject}must not contain control characters or line breaks"
            f" (U+{ord(text[i]):04X} at position {i + 1})",
        )
    return text
