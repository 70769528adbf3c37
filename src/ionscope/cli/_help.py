"""How ``--help`` shows options, arguments and descriptions: flags as flags, arguments in capitals, paragraphs unbroken.

Typer's rich help gives every option a type column; for an on/off flag (``--json``, ``--force``)
it prints ``<bool>``, as if the flag took a value. Flags take none, so their type column is left
empty; options that take a value keep theirs (``<str>``, ``<float>``, ``<path>``). The usage line
names a required argument ``PATH`` (not ``{path}``), the convention of Unix manuals and the name
the command descriptions use.

Command descriptions are docstrings wrapped at the source's line length. Typer's rich help keeps every
line break of them (in the paragraphs after the first, and in the first paragraph where a group lists its
commands), so a terminal of another width shows lines broken mid-sentence ("… the value ± 1σ under" /
"the pointer; …"). :func:`unwrap_help_paragraphs` joins the lines of each paragraph, as click's own help
does, and the terminal wraps them.
"""

from __future__ import annotations

import re
from typing import Any


def show_flags_as_flags() -> None:
    """Leave the type column of on/off flags empty in every command's ``--help`` (idempotent)."""
    try:
        from typer.core import TyperOption
    except ImportError:  # a Typer without its own option class prints click's help, which has no such column
        return
    original = TyperOption.display_type_rich
    if getattr(original, "_flags_as_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return original(self, ctx)

    display_type_rich._flags_as_flags = True  # type: ignore[attr-defined]  # a marker on the function: patch once
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]  # a deliberate patch of typer
    _arguments_in_capitals()


def _arguments_in_capitals() -> None:
    from typer.core import TyperArgument

    original = getattr(TyperArgument, "_usage_display_name", None)
    if original is None or getattr(original, "_capitals", False):
        return

    def usage_name(self: Any) -> str:
        name = str(self.display_name_raw).upper() if self.metavar is None else str(self.metavar)
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    usage_name._capitals = True  # type: ignore[attr-defined]  # a marker on the function: patch once
    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]  # a deliberate patch of typer


#: A line that starts a line of its own in a help paragraph: a list item (``-``, ``*``, ``•``, ``1.``,
#: ``1)``), a shell prompt (``$``) or an indented (example) line.
_OWN_LINE = re.compile(r"(?:[-*•]|\d+[.)]|\$)\s|\s")


def unwrap_paragraphs(text: str | None) -> str | None:
    """``text`` with the lines of each paragraph (separated by blank lines) joined by single spaces.

    Kept as written: a paragraph that starts with ``\\b`` (click's mark for text not to be rewrapped),
    the line break before a list item, a ``$`` prompt or an indented line, and everything after a ``\\f``
    line (click's end of the help text).

    Parameters
    ----------
    text
        A help text after :func:`inspect.cleandoc` (what Typer gives a command), or None.

    Returns
    -------
    str or None
        The same paragraphs, each line of a paragraph a sentence run on, not a wrapped source line.
    """
    if not text:
        return text
    body, mark, tail = text.partition("\f")
    paragraphs = []
    for para in body.split("\n\n"):
        if para.lstrip("\n").startswith("\b"):
            paragraphs.append(para)
            continue
        lines: list[str] = []
        for line in para.split("\n"):
            if lines and not _OWN_LINE.match(line):
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}".rstrip()
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + mark + tail


def unwrap_help_paragraphs() -> None:
    """Make every Typer command and group unwrap its help text as it is built (idempotent); see the module."""
    from typer.core import TyperCommand, TyperGroup

    for cls in (TyperCommand, TyperGroup):
        original = cls.__init__
        if getattr(original, "_unwraps", False):
            continue
        cls.__init__ = _unwrapping(original)  # type: ignore[method-assign]  # a deliberate patch of typer


def _unwrapping(original: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.help = unwrap_paragraphs(self.help)  # looked up when a command is built: a test may replace it

    __init__._unwraps = True  # type: ignore[attr-defined]  # a marker on the function: patch once
    return __init__
