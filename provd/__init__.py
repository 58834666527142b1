"""provd: provisioning and device management for SIP desk phones."""

__version__ = "0.1.0"
