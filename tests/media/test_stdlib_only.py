"""provd-media is built on the standard library alone (no third-party SIP, RTP or crypto
code for licence reasons) and within provd on itself and the pure rules (provd.domain,
which does no I/O): every import of provd/media is a stdlib module, provd.media or
provd.domain, and never audioop (gone in 3.13)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import provd.media

PACKAGE = Path(provd.media.__file__).parent


def _imports(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_media_imports_only_the_standard_library_and_itself() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        for name in _imports(module):
            top = name.split(".")[0]
            allowed = name in ("provd.media", "provd.domain") or name.startswith(
                ("provd.media.", "provd.domain.")
            )
            assert allowed or (top in sys.stdlib_module_names and top != "audioop"), (
                f"{module.name} imports {name}"
            )
