"""Number blocks and their use."""
