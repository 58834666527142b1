"""Who is on the platform: tenants, their users (extensions), how the console lists them,
and each user's call forwarding and do-not-disturb."""

from provd.db.models import Tenant, User

# The types the directory's functions return, named here so that callers (the console)
# need not import the database layer to annotate them.
__all__ = ["Tenant", "User"]
