"""The quick tier runs a tenth of each property test's examples; the full run, which
CI's scripts/test selects, runs all of them with hypothesis' own settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.hypothesis_profiles import FULL, QUICK, examples


@pytest.fixture
def restore_profile() -> Iterator[None]:
    loaded = settings.get_current_profile_name()
    yield
    settings.load_profile(loaded)


@pytest.mark.usefixtures("restore_profile")
def test_the_full_profile_runs_every_example_and_the_quick_one_a_tenth() -> None:
    settings.load_profile(FULL)
    assert examples(300) == 300 and examples(15) == 15
    assert settings().max_examples == settings.get_profile("default").max_examples
    settings.load_profile(QUICK)
    assert examples(300) == 30 and examples(15) == 2 and examples(2) == 1
    assert settings().max_examples == settings.get_profile("default").max_examples // 10


def test_ci_runs_the_full_profile() -> None:
    script = (Path(__file__).parent.parent / "scripts" / "test").read_text()
    assert re.search(r"^\.venv/bin/pytest -n 2 .*--hypothesis-profile=full ", script, re.M)
