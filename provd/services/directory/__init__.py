"""Who is on the platform: tenants, their users (extensions) and how the console lists them."""
