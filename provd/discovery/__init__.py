"""Finding phones on the LAN: a SIP plug-and-play responder and a DHCP observer.

Both sniff raw frames (scapy, AF_PACKET) on one interface, so they need CAP_NET_RAW
but not the SIP port, which Kamailio may hold. See docs/discovery.md.
"""
