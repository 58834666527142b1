"""Errors raised by the domain and services, each naming what the caller got wrong."""

from __future__ import annotations


class ProvdError(Exception):
    """Base class for errors that are reported to the caller, never a bug."""


class InvalidInput(ProvdError):
    """A value the caller gave is not acceptable.

    ``field`` names the input (CLI option, JSON key or CSV column) so that the
    message can point at it; ``row`` is set for bulk input.
    """

    def __init__(self, field: str, message: str, *, row: int | None = None) -> None:
        self.field = field
        self.message = message
        self.row = row
        where = f"row {row}, {field}" if row is not None else field
        super().__init__(f"{where}: {message}")

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        return out


class NotFound(ProvdError):
    """The named object does not exist (or is not visible to the caller)."""

    def __init__(self, kind: str, key: str, *, field: str | None = None) -> None:
        self.kind = kind
        self.key = key
        self.field = field
        message = f"{kind} {key!r} not found"
        super().__init__(f"{field}: {message}" if field else message)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"message": f"{self.kind} {self.key!r} not found"}
        if self.field:
            out["field"] = self.field
        return out


class Conflict(InvalidInput):
    """The value is valid but collides with an existing object (duplicate MAC, extension)."""


class Throttled(InvalidInput):
    """The caller did too much of something in too short a time: a 429 with Retry-After."""

    def __init__(self, field: str, message: str, *, retry_after: int) -> None:
        super().__init__(field, message)
        self.retry_after = retry_after
