"""Pure rules and types of provd: no I/O, no framework imports."""
