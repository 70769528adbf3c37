"""No internal document, section or issue references in what users read.

Help texts of every command, the demo report, and every string and docstring of the package must cite
papers (authors, year, DOI), never the project's own notes ("DOMAIN.md", "§3", "000 §4", "[001]",
"seed 002") or its issue tracker ("issue 17").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import ionscope

PACKAGE = Path(ionscope.__file__).resolve().parent
INTERNAL = re.compile(
    r"(?:DOMAIN|DESIGN|ANCHORS)\.md|§|\bissue\s*#?\d+|\[00\d(?::L\d+(?:[–-]\d+)?)?\]|\b00\d\s*(?:§|:L\d)|\bseed\s+00\d|\breview\s+00\d",
    re.IGNORECASE)

def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
    return out


def _hits(text: str) -> list[str]:
    return sorted({m.group(0) for m in INTERNAL.finditer(text)})


SOURCES = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("name", SOURCES)
def test_package_strings_cite_papers(name):
    bad = [(line, _hits(text)) for line, text in _strings(PACKAGE / name) if _hits(text)]
    assert not bad, f"{name}: internal references at lines {bad}"


def _commands():
    import typer

    from ionscope.cli.main import app

    root = typer.main.get_command(app)
    stack, found = [((), root)], []
    while stack:
        path, cmd = stack.pop()
        found.append(path)
        if hasattr(cmd, "list_commands"):  # a group (Typer may carry its own copy of click)
            ctx = typer.Context(cmd)
            for name in cmd.list_commands(ctx):
                stack.append(((*path, name), cmd.get_command(ctx, name)))
    return sorted(found)


@pytest.mark.slow
def test_every_help_text_is_clean(cli):
    commands = _commands()
    assert len(commands) > 20
    dirty, bools = {}, []
    for path in commands:
        code, out, err = cli(*path, "--help")
        assert code == 0, (path, err)
        if _hits(out + err):
            dirty[" ".join(path)] = _hits(out + err)
        if "<bool>" in out or re.search(r"Usage:[^\n]*\{", out):
            bools.append(" ".join(path))
    assert not dirty, f"internal references in --help: {dirty}"
    assert not bools, f"flags shown as taking a <bool> value, or arguments as {{name}}, in: {bools}"


@pytest.mark.slow
def test_demo_report_is_clean(demo_report):
    assert not _hits(demo_report.read_text())
