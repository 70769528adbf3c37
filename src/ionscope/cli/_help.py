"""How ``--help`` shows options and arguments: flags as flags, arguments in capitals.

Typer's rich help gives every option a type column; for an on/off flag (``--json``, ``--force``)
it prints ``<bool>``, as if the flag took a value. Flags take none, so their type column is left
empty; options that take a value keep theirs (``<str>``, ``<float>``, ``<path>``). The usage line
names a required argument ``PATH`` (not ``{path}``), the convention of Unix manuals and the name
the command descriptions use.
"""

from __future__ import annotations

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
