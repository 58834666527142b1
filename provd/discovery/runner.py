"""What ``provd serve`` runs for discovery: options checked before anything starts,
the responder and the observer started once the database is up and stopped with it."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from provd.discovery.link import check_capability
from provd.services.platform import Platform

log = logging.getLogger("provd.discovery")


def default_interface() -> str:
    """The interface of the default route, as scapy sees it."""
    from scapy.config import conf

    return str(conf.iface)


@dataclass(frozen=True, slots=True)
class DiscoveryOptions:
    pnp: bool = False
    pnp_interface: str | None = None
    pnp_answer_unknown: bool = False
    dhcp_interface: str | None = None

    @property
    def enabled(self) -> bool:
        return self.pnp or self.dhcp_interface is not None

    def resolved(self) -> DiscoveryOptions:
        """With the PnP interface filled in, and everything checked: raises a ProvdError
        naming the option or the missing capability."""
        interface = self.pnp_interface
        if self.pnp:
            interface = interface or default_interface()
            check_capability("PnP responder", interface, option="pnp_interface")
        if self.dhcp_interface is not None:
            check_capability("DHCP observer", self.dhcp_interface, option="dhcp_observe")
        return DiscoveryOptions(self.pnp, interface, self.pnp_answer_unknown, self.dhcp_interface)


async def start(
    platform: Platform, options: DiscoveryOptions, stack: contextlib.AsyncExitStack
) -> None:
    """Start what ``options`` ask for; ``stack`` stops it."""
    from provd.discovery.dhcp import DhcpObserver
    from provd.discovery.pnp import PnpResponder

    if options.pnp:
        assert options.pnp_interface is not None, "resolved() fills it in"
        responder = PnpResponder(
            platform, options.pnp_interface, answer_unknown=options.pnp_answer_unknown
        )
        await responder.start()
        stack.push_async_callback(responder.stop)
        log.info(
            "PnP responder on %s answers %s",
            options.pnp_interface,
            "every phone" if options.pnp_answer_unknown else "claimed phones only",
        )
    if options.dhcp_interface is not None:
        observer = DhcpObserver(options.dhcp_interface)
        await observer.start()
        stack.push_async_callback(observer.stop)
