"""Every public parameter name and every CLI option is in ``docs/glossary.md``.

Public means: exported through ``__all__`` of ``ionscope`` or one of its subpackages (functions and
classes; a class contributes its constructor's parameters). A name is "in the glossary" when it is
the first cell of a table row there, written in backticks (several names may share a row).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import typer

import ionscope

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"


def glossary_names() -> set[str]:
    names: set[str] = set()
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([^`]+)`", line.split(" | ")[0]))
    return names


def public_objects() -> Iterator[tuple[str, object]]:
    packages = ["ionscope"] + [f"ionscope.{m.name}" for m in pkgutil.iter_modules(ionscope.__path__) if m.ispkg]
    for package in packages:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) or callable(obj):
                yield f"{package}.{name}", obj


def public_parameters() -> dict[str, set[str]]:
    """Parameter name → the public callables that take it."""
    found: dict[str, set[str]] = {}
    for where, obj in public_objects():
        try:
            signature = inspect.signature(obj)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        for p in signature.parameters.values():
            if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                found.setdefault(p.name, set()).add(where)
    return found


def cli_options() -> dict[str, set[str]]:
    """Long option (``--pixel-size``) → the commands that take it, over the whole typer app."""
    from ionscope.cli.main import _add_groups, app

    if not app.registered_groups:  # imported by a test run that named no group: add them all
        _add_groups(None)
    found: dict[str, set[str]] = {}

    def walk(command: object, path: str) -> None:
        for p in getattr(command, "params", ()):
            if getattr(p, "param_type_name", "") == "option":
                for opt in [*p.opts, *p.secondary_opts]:
                    if opt.startswith("--"):
                        found.setdefault(opt, set()).add(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "ionscope")
    return found


def _missing(used: dict[str, set[str]], known: set[str]) -> list[str]:
    return [f"{name}  (used by {', '.join(sorted(used[name])[:3])})" for name in sorted(used) if name not in known]


def test_public_parameter_names_are_in_the_glossary():
    params = public_parameters()
    assert len(params) > 100  # the walk found the API
    missing = _missing(params, glossary_names())
    assert not missing, "parameter names missing from docs/glossary.md:\n" + "\n".join(missing)


def test_cli_options_are_in_the_glossary():
    options = cli_options()
    assert "--json" in options and "--pixel-size" in options
    missing = _missing(options, glossary_names())
    assert not missing, "CLI options missing from docs/glossary.md:\n" + "\n".join(missing)


def test_renamed_parameters_show_their_new_names():
    from ionscope.model.arrays import make_volume
    from ionscope.mva import pca

    assert "spacing" in inspect.signature(make_volume).parameters
    assert "normalisation" in inspect.signature(pca).parameters
    assert "normalise" not in public_parameters()
