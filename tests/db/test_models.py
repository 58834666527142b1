"""The models as tortoise reads them."""

from __future__ import annotations

import inspect
import re

from tortoise.models import Model

from provd.db import models


def test_no_model_has_its_source_read_for_field_comments() -> None:
    # None has a "#:" comment to be read, and reading costs a parse of the module a model.
    classes = [
        c
        for c in vars(models).values()
        if inspect.isclass(c) and issubclass(c, Model) and c is not Model
    ]
    assert len(classes) > 30
    assert [c.__name__ for c in classes if "_no_comments" not in vars(c)] == []
    assert re.search(r"^\s*#:", inspect.getsource(models), re.MULTILINE) is None
