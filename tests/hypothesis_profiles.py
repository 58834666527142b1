"""How many examples the property tests run: all of them in the full run, a tenth in the
quick tier.

Counts are written for the full run, as hypothesis' ``max_examples`` or through
:func:`examples`. ``scripts/test`` (CI) selects ``--hypothesis-profile=full``: hypothesis'
own profile (``default``, or ``ci`` where ``$CI`` is set) without its deadline: a
deadline is a wall-clock assertion, and a loaded CI runner (two workers, coverage
tracing) took 247 ms for an example the deadline gave 200. Without that option
the suite loads ``quick``, the same profile with a tenth of the examples, and
:func:`examples` scales explicit counts by the same share, so that the work loop
(``pytest -m "not slow"``) stays under a minute: at a fifth, the property and fuzz
tests took 13 of its CPU-seconds. A property that fails only past the quick tier's
examples still fails the full run.
"""

from __future__ import annotations

from hypothesis import settings

FULL = "full"
QUICK = "quick"

_OWN = settings.get_profile(settings.get_current_profile_name())
settings.register_profile(FULL, _OWN, deadline=None)
settings.register_profile(QUICK, _OWN, deadline=None, max_examples=max(1, _OWN.max_examples // 10))


def load_default() -> None:
    """The quick profile; hypothesis' pytest plugin then loads the one named by
    ``--hypothesis-profile``, if any (its pytest_configure runs after conftest import)."""
    settings.load_profile(QUICK)


def examples(full: int) -> int:
    """``full`` in the full run; in the quick tier, the share the loaded profile runs of
    the full profile's examples (at least one)."""
    share = settings().max_examples / settings.get_profile(FULL).max_examples
    return max(1, round(full * share))
