"""The models as tortoise reads them."""

from __future__ import annotations

import inspect
import re

from tortoise import Tortoise
from tortoise.models import Model

from provd.db import models
from provd.services.platform import Platform
from tests.conftest import TORTOISE_FINALISE


def _models() -> list[type[Model]]:
    return [
        c
        for c in vars(models).values()
        if inspect.isclass(c) and issubclass(c, Model) and c is not Model
    ]


def test_no_model_has_its_source_read_for_field_comments() -> None:
    # None has a "#:" comment to be read, and reading costs a parse of the module a model.
    classes = _models()
    assert len(classes) > 30
    assert [c.__name__ for c in classes if "_no_comments" not in vars(c)] == []
    assert re.search(r"^\s*#:", inspect.getsource(models), re.MULTILINE) is None


def _finalised() -> dict[str, object]:
    """What tortoise's finalising makes of each model."""
    return {
        model.__name__: (
            {key: sorted(info.items(), key=str) for key, info in model._meta.filters.items()},
            [key for key, _, _ in model._meta.db_native_fields],
            [key for key, _, _ in model._meta.db_default_fields],
            [key for key, _, _ in model._meta.db_complex_fields],
            str(model._meta.basequery_all_fields),
            sorted(model._meta.fetch_fields),
        )
        for model in _models()
    }


async def test_models_finalised_once_are_as_tortoise_finalises_them_again(
    platform: Platform,
) -> None:
    # The quick tier finalises the models only when they or the kind of database change
    # (tests/conftest.py): what its tests find must be what tortoise's own init makes.
    apps = Tortoise.apps
    assert apps is not None
    kept = _finalised()
    TORTOISE_FINALISE(apps)
    assert _finalised() == kept
