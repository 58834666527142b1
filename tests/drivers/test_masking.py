"""Masked rendering: every secret field of a device context is replaced by the mask before a
driver renders, so the preview is the phone's file with the mask wherever a secret goes,
however the vendor's format escapes it."""

from __future__ import annotations

import dataclasses
import html
import typing
import urllib.parse
from xml.sax.saxutils import escape as xml_escape

import pytest
from markupsafe import escape as markup_escape

from provd.domain.catalogue import PhoneModel, Vendor
from provd.drivers import context as context_module
from provd.drivers.context import DeviceContext, Line, Provisioning, is_secret, masked
from provd.drivers.registry import MODELS, driver_for
from tests.samples import layout_context, sample_context

MASK = "********"
PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
# Every character a format escapes or gives a meaning to, alone and in company, and
# strings that look like the escapes themselves.
PASSWORDS = [
    "&<>\"'",
    "P&ss<w>rd\"1'x",
    "back\\slash\\\\",
    "with  spaces and a\ttab ",
    "100%=#;done",
    PRINTABLE_ASCII,
    "Pässwörd€漢字😀",
    "&amp;&lt;&#38;&#x26;&quot;&apos;",
    "]]><![CDATA[x",
    "x********y",
    "a = b\\n# not a comment",
]


def _models() -> list[PhoneModel]:
    # One of each vendor with an expansion module and one without.
    picked: dict[tuple[Vendor, bool], PhoneModel] = {}
    for model in MODELS:
        picked.setdefault((model.vendor, model.expansion is not None), model)
    return list(picked.values())


def _with_secrets(ctx: DeviceContext, password: str) -> DeviceContext:
    """Each secret a variant of ``password``, so each must be masked on its own."""
    return dataclasses.replace(
        ctx,
        provisioning=dataclasses.replace(ctx.provisioning, password=password + "P"),
        admin_password=password + "A",
        lines=tuple(
            dataclasses.replace(line, password=f"{password}L{line.slot}") for line in ctx.lines
        ),
    )


def _by_hand(ctx: DeviceContext) -> DeviceContext:
    """The mask written into each secret field by hand, independently of :func:`masked`."""
    return dataclasses.replace(
        ctx,
        provisioning=dataclasses.replace(ctx.provisioning, password=MASK),
        admin_password=MASK,
        lines=tuple(dataclasses.replace(line, password=MASK) for line in ctx.lines),
    )


def _forms(secret: str) -> set[str]:
    """The secret as any format might write it."""
    tab = secret.replace("\t", "&#9;")
    return {
        secret,
        str(markup_escape(secret)),
        str(markup_escape(tab)),
        xml_escape(secret),
        xml_escape(secret, {'"': "&quot;", "'": "&apos;"}),
        html.escape(secret),
        urllib.parse.quote(secret),
        urllib.parse.quote(secret, safe=""),
    }


def _secrets(ctx: DeviceContext) -> list[str]:
    return [ctx.provisioning.password, ctx.admin_password, *(x.password for x in ctx.lines)]


def _render_all(ctx: DeviceContext) -> dict[str, str]:
    driver = driver_for(ctx.model.vendor.value)
    return {
        name: driver.render(ctx, name).decode() for name in driver.filenames(ctx.mac, ctx.model)
    }


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.id)
@pytest.mark.parametrize("password", PASSWORDS)
def test_no_secret_survives_masking_in_any_form(model: PhoneModel, password: str) -> None:
    base = layout_context(model)
    ctx = _with_secrets(base, password)
    files = _render_all(masked(ctx, MASK))
    for secret in _secrets(ctx):
        for form in _forms(secret):
            for name, body in files.items():
                assert form not in body, f"{name} shows a secret as {form!r}"
    # The same file otherwise: what the phone gets had its secrets been the mask.
    assert files == _render_all(_by_hand(ctx))


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.id)
def test_the_mask_stands_exactly_where_each_secret_goes(model: PhoneModel) -> None:
    # Secrets the formats write verbatim, so the unmasked file shows where each goes.
    ctx = _with_secrets(sample_context(model), "Plain1")
    revealed = "".join(_render_all(ctx).values())
    preview = "".join(_render_all(masked(ctx, MASK)).values())
    expected = revealed
    for secret in sorted(_secrets(ctx), key=len, reverse=True):
        assert secret in revealed
        expected = expected.replace(secret, MASK)
    assert preview == expected


def test_masking_leaves_the_context_otherwise_alone() -> None:
    ctx = sample_context(next(m for m in MODELS if m.vendor is Vendor.SNOM))
    out = masked(ctx, MASK)
    assert out == _by_hand(ctx)
    assert ctx.provisioning.password != MASK  # the original is untouched
    assert masked(out, MASK) == out


def _context_classes() -> list[type[object]]:
    return [
        obj
        for obj in vars(context_module).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == context_module.__name__
    ]


def test_every_credential_field_of_the_context_is_marked_secret() -> None:
    """A credential added to the context later is masked only if marked: names that say
    credential must be."""
    found = []
    for cls in _context_classes():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            words = ("password", "secret", "token", "passphrase", "credential")
            if hints[f.name] is str and any(w in f.name for w in words):
                assert is_secret(cls, f.name), f"{cls.__name__}.{f.name} is not marked secret"
                found.append(f"{cls.__name__}.{f.name}")
    assert sorted(found) == [
        "DeviceContext.admin_password",
        "Line.password",
        "Provisioning.password",
    ]
    assert not is_secret(Provisioning, "username")
    assert not is_secret(Line, "auth_user")
