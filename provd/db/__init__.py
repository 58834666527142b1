"""Persistence: tortoise-orm models by aggregate, connection set-up, migrations."""
