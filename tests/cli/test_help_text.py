"""Every ``--help`` screen: no paragraph broken mid-sentence by a hard line break of its source.

Each command's and group's help is rendered as a user sees it, on a terminal wider than any line
(``COLUMNS=4000``), so that no line is wrapped by the width: every line break left in a paragraph is then
a hard one from the source. A break is allowed only where it starts a list item, a ``$`` prompt or an
indented example, or between two sentences (a line ending in ``.``, ``!`` or ``?`` followed by one
starting in upper case); anything else — a line ending without a full stop, or followed by one starting in
lower case — is a sentence broken in two. Both places a description appears are checked: the
paragraphs under the usage line and the command lists of the groups (a row whose text continues on the
next row of the table).
"""

from __future__ import annotations

import re

import click
import pytest
import typer

WIDE = "4000"
#: A line that may start a line of its own (a list item, a prompt, an indented example).
_OWN_LINE = re.compile(r"(?:[-*•]|\d+[.)]|\$)\s|\s")


def _commands() -> list[tuple[str, ...]]:
    """The path of every command and group of the CLI, the root ``()`` included."""
    from ionscope.cli.main import _add_groups, app

    if not app.registered_groups:
        _add_groups(None)
    found: list[tuple[str, ...]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return sorted(found)


def _broken(first: str, second: str) -> bool:
    """Whether the line break between ``first`` and ``second`` (in one paragraph) splits a sentence."""
    if _OWN_LINE.match(second):
        return False
    first, second = first.rstrip(), second.strip()
    return not (first.endswith((".", "!", "?")) and second[:1].isupper())


def _description(lines: list[str]) -> list[list[str]]:
    """Paragraphs (lists of lines, the one-space margin removed) between the usage line and the first panel."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("╭"):
            break
        if not line.strip() or line.lstrip().startswith("Usage:"):
            paragraphs.append([])
        else:
            paragraphs[-1].append(line[1:] if line.startswith(" ") else line)
    return [p for p in paragraphs if p]


def _continued_rows(lines: list[str]) -> list[tuple[str, str]]:
    """(row, next row) pairs of a panel whose next row only continues the text of the row above: its key
    columns (command, option, type) are blank and it holds one run of text."""
    pairs = []
    for above, row in zip(lines, lines[1:]):
        if not (above.startswith("│") and row.startswith("│")):
            continue
        content = row.strip("│").rstrip()
        cells = [c for c in re.split(r"\s{2,}", content.strip()) if c]
        if len(cells) == 1 and content.startswith("   "):
            pairs.append((re.split(r"\s{2,}", above.strip("│").strip())[-1], cells[0]))
    return pairs


def hard_breaks(screen: str) -> tuple[list[tuple[str, str]], int, int]:
    """Mid-sentence hard breaks of a help screen rendered wider than its lines, and how many description
    paragraphs and panel rows it has (what was read)."""
    lines = [line.rstrip() for line in screen.splitlines()]
    paragraphs = _description(lines)
    pairs = [(a, b) for para in paragraphs for a, b in zip(para, para[1:])] + _continued_rows(lines)
    rows = sum(1 for line in lines if line.startswith("│"))
    return [(a, b) for a, b in pairs if _broken(a, b)], len(paragraphs), rows


def _screens(cli, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("COLUMNS", WIDE)
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", None)  # a TERMINAL_WIDTH in the environment would wrap
    screens = {}
    for path in _commands():
        code, out, err = cli(*path, "--help")
        assert code == 0, (path, err)
        screens[" ".join(path) or "ionscope"] = out
    return screens


@pytest.mark.slow  # renders the help of every command (≈ 15 s)
def test_no_help_paragraph_is_broken_mid_sentence(cli, monkeypatch):
    screens = _screens(cli, monkeypatch)
    assert len(screens) > 30, sorted(screens)
    found, paragraphs = {}, 0
    for name, screen in screens.items():
        breaks, n_paragraphs, n_rows = hard_breaks(screen)
        assert "Usage: ionscope" in screen and n_paragraphs >= 1 and n_rows >= 1, (name, screen[:300])  # parsed
        paragraphs += n_paragraphs
        if breaks:
            found[name] = breaks
    assert paragraphs > len(screens)  # more than the one-line summaries: later paragraphs were read too
    assert not found, "help text broken mid-sentence by a hard line break:\n" + "\n".join(
        f"{name}: {a!r} / {b!r}" for name, breaks in found.items() for a, b in breaks)
    view = screens["view"]  # the reported case: one paragraph, one line, at any width that does not wrap
    assert "the value ± 1σ under the pointer; 3-D cubes also show side views" in view


@pytest.mark.slow  # renders the help of every command (≈ 15 s)
def test_the_check_finds_the_breaks_of_wrapped_docstrings(cli, monkeypatch):
    """Without the unwrapping, the docstrings wrapped at the source's line length show their breaks: the
    check flags them in the description (`view`) and in a group's command list (`diffusion`)."""
    monkeypatch.setattr("ionscope.cli._help.unwrap_paragraphs", lambda text: text)
    screens = _screens(cli, monkeypatch)
    view = hard_breaks(screens["view"])[0]
    assert ("Maps (D*, k, interface depth …) show with colour bars in physical units and the value ± 1σ under",
            "the pointer; 3-D cubes also show side views (scan × x at a row, scan × y at a column).") in view
    listing = hard_breaks(screens["diffusion"])[0]
    assert any(b.startswith("activation energy and prefactor") for _, b in listing), listing
    assert sum(bool(hard_breaks(s)[0]) for s in screens.values()) >= 5


@pytest.mark.parametrize(("first", "second", "broken"), [
    ("the value ± 1σ under", "the pointer; 3-D cubes", True),          # ends without punctuation, lower case next
    ("(Le Claire 1963, Br. J. Appl. Phys. 14, 351,", "doi:10.1088/0508-3443/14/6/317)", True),  # ends in a comma
    ("from the tail estimate", "Le Claire's regime", True),           # upper case next, but no full stop
    ("a 3σ upper limit.", "the others go on.", True),                 # lower case after a full stop
    ("One sentence ends here.", "Another starts.", False),
    ("Examples:", "  ionscope view demo-output", False),
    ("the phases are:", "- pore (0)", False),
    ("run:", "$ ionscope demo", False),
])
def test_the_rule_for_a_line_break(first, second, broken):
    assert _broken(first, second) is broken


def test_unwrap_joins_paragraph_lines_and_keeps_lists_and_verbatim_blocks():
    from ionscope.cli._help import unwrap_paragraphs

    text = ("First line\nwraps here.\n\nSecond paragraph\n  continues.\n- item one\n- item two\n  wraps\n\n"
            "\b\nkept\nas is\n\f\nafter\nthe mark")
    assert unwrap_paragraphs(text) == ("First line wraps here.\n\nSecond paragraph\n  continues.\n- item one\n"
                                       "- item two\n  wraps\n\n\b\nkept\nas is\n\f\nafter\nthe mark")
    assert unwrap_paragraphs(None) is None and unwrap_paragraphs("") == ""
