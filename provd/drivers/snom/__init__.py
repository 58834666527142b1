"""Snom D3xx/D7xx desk phones: XML settings behind ``<setting-files>`` containers."""
