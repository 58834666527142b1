"""Who may administer: console accounts with their sign-in, and API tokens."""
