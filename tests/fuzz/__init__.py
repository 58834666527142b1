"""Property-based fuzzing of what provd reads from the network (issue 21).

``targets`` (pure parsers) and ``env`` (imports, the API and the phone path, against a
real database) are shared by the bounded tests here and by ``bench/fuzz.py``.
"""
