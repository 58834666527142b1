"""The interface every vendor driver implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.mac import Mac
from provd.drivers.context import DeviceContext


class NotThisDevicesFile(LookupError):
    """Raised by :meth:`Driver.render` for a file name that is not one of the device's
    files (another MAC's, another model's, or no file the vendor's phones ask for).

    The only exception a driver raises on purpose: the phone gets a 404. Anything else
    a driver raises is a bug and gets a logged 500, so it is deliberately not a
    :class:`KeyError`, which any dictionary lookup gone wrong raises too.
    """

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.filename = filename


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """What a phone says about itself in its HTTP User-Agent. Untrusted input."""

    vendor: Vendor
    model_name: str
    """As reported, e.g. ``T46G`` or ``D785``; may name a model provd does not know."""
    firmware: str
    mac: Mac | None
    expansion_modules: int | None = None
    """Number of attached key modules, where the User-Agent reports it (Snom)."""


@dataclass(frozen=True, slots=True)
class FileRequest:
    """A requested path, classified by a driver.

    ``mac`` is set for per-device files; ``model`` for per-model (common) files.
    Both may be set (Snom's ``snomD785-000413XXXXXX.htm``).
    """

    filename: str
    mac: Mac | None
    model: PhoneModel | None


class Driver(Protocol):
    vendor: Vendor
    name: str
    """How installers and admins name the vendor (``Yealink``, ``Snom``)."""

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        """Return None when the User-Agent is not this vendor's."""
        ...

    def sip_firmware(self, user_agent: str) -> str | None:
        """The firmware version in a SIP User-Agent (REGISTER), or None when it is not
        one of this vendor's phones. Some vendors word it unlike their HTTP one."""
        ...

    def classify(self, filename: str) -> FileRequest | None:
        """Return None when the file name is not one this vendor's phones ask for."""
        ...

    def model_from_vendor_class(self, vendor_class: str) -> str | None:
        """The model a DHCP vendor class (option 60) names, as the phone spells it, or None
        when it names none or is not this vendor's. Untrusted input."""
        ...

    def filenames(self, mac: Mac, model: PhoneModel) -> tuple[str, ...]:
        """Every file a device of this model may fetch, in the order it fetches them."""
        ...

    def config_file(self, mac: Mac) -> str:
        """The device's configuration: the one file of :meth:`filenames` that carries
        its own provisioning credential (and its SIP secrets)."""
        ...

    def check_sync_event(self, *, reboot: bool) -> str:
        """The ``Event`` header of the SIP NOTIFY that makes this vendor's phones fetch
        their configuration again, or restart (``reboot``). The PBX layer sends what it
        is given and knows no vendor."""
        ...

    def render(self, ctx: DeviceContext, filename: str) -> bytes:
        """Render one file of :meth:`filenames` for the device; raise
        :class:`NotThisDevicesFile` for any other name."""
        ...
