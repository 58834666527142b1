"""Vendor drivers: pure functions from a device context to the files a phone fetches.

Every vendor package has the same modules (``useragent``, ``driver``, ``oui``) and a
test proves it. Drivers never touch the database, the network or the disk.
"""
