"""Use cases that join the domain, the database and the drivers.

The CLI and the web layer call these; they never talk to the models directly.
"""
