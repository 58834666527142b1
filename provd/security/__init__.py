"""Cryptography and authentication building blocks (no web framework imports)."""
